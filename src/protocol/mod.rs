//! Request protocols: the [`Transport`] trait and its three implementations, [`Rest`], [`Soap`]
//! and [`XmlRpc`], chosen at run time through [`Protocol`].
//!
//! A transport turns a signed [`Call`] into the [`HttpRequest`] to send (client side) and parses
//! an incoming request back into a call (emulator side); both directions of one protocol live in
//! one file. Nothing here does I/O.
//!
//! ```
//! use ipernity::{Call, Credentials, Format, Protocol};
//! let protocol: Protocol = "soap".parse().unwrap();
//! let call = Call::new("test.echo").param("echo", "hi").signed(&Credentials::new("key", "secret"));
//! let request = protocol.transport().encode("https://api.ipernity.com/api", &call, None).unwrap();
//! assert_eq!(request.url, "https://api.ipernity.com/api/soap");
//! assert!(String::from_utf8_lossy(&request.body).contains("<method>test.echo</method>"));
//! ```

use std::fmt;
use std::str::FromStr;

use crate::call::Call;
use crate::error::Error;
use crate::format::{Format, UnknownName};
pub use crate::http::{HttpMethod, HttpRequest};

#[cfg(feature = "server")]
mod extract;
mod rest;
mod soap;
mod xmlrpc;

#[cfg(feature = "server")]
mod request;

#[cfg(feature = "server")]
pub use extract::{ExtractError, Extracted, FileExtractor};
#[cfg(feature = "server")]
pub use request::{FileContent, FilePart, IncomingRequest, ParsedRequest, RequestError};
#[cfg(feature = "server")]
pub(crate) use request::{check_method, suffix_format, xml_text};
#[cfg(any(feature = "server", feature = "client"))]
pub(crate) use rest::FORM_CONTENT_TYPE;
pub use rest::Rest;
#[cfg(feature = "server")]
pub(crate) use rest::multipart_boundary;
#[cfg(all(feature = "server", feature = "client"))]
pub(crate) use rest::rest_with_method;
#[cfg(feature = "server")]
pub use rest::{
    MAX_MULTIPART_FIELD_BYTES, MAX_MULTIPART_PARTS, MultipartError, MultipartEvent, MultipartReader,
};
pub use soap::Soap;
pub use xmlrpc::XmlRpc;

/// The default API base URL.
pub const DEFAULT_ENDPOINT: &str = "https://api.ipernity.com/api";

/// A request protocol, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `{base}/{method}/{format}` with a query string (GET) or a form body (POST).
    Rest,
    /// A SOAP 1.2 envelope posted to `{base}/soap`.
    Soap,
    /// An XML-RPC `methodCall` posted to `{base}/xmlrpc`.
    XmlRpc,
}

impl Protocol {
    /// All three protocols.
    pub const ALL: [Protocol; 3] = [Protocol::Rest, Protocol::Soap, Protocol::XmlRpc];

    /// The name used on the command line and in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Rest => "rest",
            Protocol::Soap => "soap",
            Protocol::XmlRpc => "xmlrpc",
        }
    }

    /// The transport that speaks this protocol.
    pub fn transport(self) -> &'static dyn Transport {
        match self {
            Protocol::Rest => &Rest,
            Protocol::Soap => &Soap,
            Protocol::XmlRpc => &XmlRpc,
        }
    }

    /// The protocol that serves `path` (relative to the API base, e.g. `soap/json` or
    /// `test.echo/xml`).
    pub fn for_path(path: &str) -> Protocol {
        let first = path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        match first {
            "soap" => Protocol::Soap,
            "xmlrpc" => Protocol::XmlRpc,
            _ => Protocol::Rest,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Protocol {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Protocol, UnknownName> {
        Protocol::ALL
            .into_iter()
            .find(|protocol| protocol.as_str() == name)
            .ok_or_else(|| UnknownName {
                kind: "protocol",
                name: name.to_owned(),
                expected: "rest, soap, xmlrpc",
            })
    }
}

/// One request protocol: encodes calls and parses requests. Object-safe, so a protocol chosen at
/// run time is a `&'static dyn Transport`.
pub trait Transport: Send + Sync + fmt::Debug {
    /// Which protocol this is.
    fn protocol(&self) -> Protocol;

    /// The format the endpoint answers in when no suffix is given.
    fn default_format(&self) -> Format;

    /// The formats the endpoint can answer in.
    fn formats(&self) -> &'static [Format];

    /// Encodes a (signed) call into the HTTP request to send to `base_url`, asking for `format`
    /// (`None`: the endpoint's default).
    fn encode(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
    ) -> Result<HttpRequest, Error>;

    /// Parses a request sent to this protocol's endpoint into a call, or into the error the API
    /// answers: 102 (format), 121/122 (envelope), 103 (method), in that order. With the feature
    /// `server` only.
    #[cfg(feature = "server")]
    #[cfg_attr(docsrs, doc(cfg(feature = "server")))]
    fn parse(&self, request: &IncomingRequest<'_>) -> Result<ParsedRequest, RequestError>;

    /// Encodes a (signed) upload call around a file that is not read here: the request's head and
    /// the bytes that go before and after the file (uploads: `protocols/README.md`), so the file can be streamed.
    fn encode_upload(
        &self,
        base_url: &str,
        call: &Call,
        filename: &str,
        format: Option<Format>,
    ) -> Result<UploadEnvelope, Error>;
}

/// How a file travels inside an upload body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileEncoding {
    /// As it is (a multipart part).
    Raw,
    /// Base64 (standard alphabet, padded), inside an XML element.
    Base64,
}

impl FileEncoding {
    /// How many bytes a file of `length` bytes takes in the body.
    pub fn encoded_length(self, length: u64) -> u64 {
        match self {
            FileEncoding::Raw => length,
            FileEncoding::Base64 => length.div_ceil(3).saturating_mul(4),
        }
    }
}

/// An upload request around its file: `head` (with an empty body), then the body is `before`,
/// the file in `encoding`, `after`.
#[derive(Debug, Clone)]
pub struct UploadEnvelope {
    /// Method, URL and headers (`Content-Type` included); its body is empty.
    pub head: HttpRequest,
    /// The bytes before the file.
    pub before: Vec<u8>,
    /// The bytes after the file.
    pub after: Vec<u8>,
    /// How the file is written between them.
    pub encoding: FileEncoding,
}

impl UploadEnvelope {
    /// An envelope whose file is base64 text between `head`'s body (the bytes before it) and
    /// `after`: how SOAP and XML-RPC carry uploads.
    pub(crate) fn base64_between(mut head: HttpRequest, after: Vec<u8>) -> UploadEnvelope {
        let before = std::mem::take(&mut head.body);
        UploadEnvelope {
            head,
            before,
            after,
            encoding: FileEncoding::Base64,
        }
    }

    /// The exact `Content-Length` of the body for a file of `file_length` bytes.
    pub fn content_length(&self, file_length: u64) -> u64 {
        let fixed = u64::try_from(self.before.len() + self.after.len()).unwrap_or(u64::MAX);
        fixed.saturating_add(self.encoding.encoded_length(file_length))
    }

    /// The whole request with the file in memory (small files, tests).
    pub fn with_file(&self, file: &[u8]) -> HttpRequest {
        use base64::Engine;
        let mut body = self.before.clone();
        match self.encoding {
            FileEncoding::Raw => body.extend_from_slice(file),
            FileEncoding::Base64 => body.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(file)
                    .as_bytes(),
            ),
        }
        body.extend_from_slice(&self.after);
        HttpRequest {
            body,
            ..self.head.clone()
        }
    }
}

/// Checks that `format` can be asked of `transport`'s endpoint.
pub(crate) fn check_format(
    format: Option<Format>,
    transport: &dyn Transport,
) -> Result<Format, Error> {
    let format = format.unwrap_or(transport.default_format());
    if transport.formats().contains(&format) {
        Ok(format)
    } else {
        Err(Error::invalid_param(
            "format",
            format!(
                "the {} endpoint cannot answer in {format}",
                transport.protocol()
            ),
        ))
    }
}

/// The URL of an endpoint: `{base}/{path}[/{format}]`, the suffix left out for the default.
pub(crate) fn endpoint_url(
    base_url: &str,
    path: &str,
    format: Format,
    transport: &dyn Transport,
) -> String {
    let base = base_url.trim_end_matches('/');
    if format == transport.default_format() && transport.protocol() != Protocol::Rest {
        format!("{base}/{path}")
    } else {
        format!("{base}/{path}/{format}")
    }
}

/// Checks that XML can carry every parameter name and value of `call`; `names_are_elements` also
/// requires names to be valid element names (SOAP).
pub(crate) fn check_xml_text(call: &Call, names_are_elements: bool) -> Result<(), Error> {
    for (name, value) in call.params().iter() {
        if names_are_elements && !crate::format::xml_text::is_xml_name(name) {
            return Err(Error::invalid_param(
                name,
                "the name is not a valid XML element name",
            ));
        }
        if let Some(c) = crate::format::xml_text::first_non_xml_char(name)
            .or_else(|| crate::format::xml_text::first_non_xml_char(value))
        {
            return Err(Error::invalid_param(
                name,
                format!("the value holds {c:?}, a character XML cannot carry"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_paths_route() {
        for protocol in Protocol::ALL {
            assert_eq!(protocol.as_str().parse::<Protocol>().unwrap(), protocol);
            assert_eq!(protocol.transport().protocol(), protocol);
        }
        assert!("grpc".parse::<Protocol>().is_err());
        assert_eq!(Protocol::for_path("soap/json"), Protocol::Soap);
        assert_eq!(Protocol::for_path("xmlrpc"), Protocol::XmlRpc);
        assert_eq!(Protocol::for_path("test.echo/xml"), Protocol::Rest);
    }

    #[test]
    #[cfg(feature = "server")]
    fn uploads_round_trip_on_every_transport_with_exact_lengths() {
        let call = Call::new("upload.file")
            .param("title", "Zoë <&> \"x\"")
            .param("async", "0");
        let file: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for protocol in Protocol::ALL {
            for length in [1usize, 2, 3, 4, 1000] {
                let envelope = protocol
                    .transport()
                    .encode_upload("http://h/api", &call, "a \"b\".jpg", Some(Format::Json))
                    .unwrap();
                let request = envelope.with_file(&file[..length]);
                assert_eq!(
                    u64::try_from(request.body.len()).unwrap(),
                    envelope.content_length(length as u64),
                    "{protocol}"
                );
                let parsed = protocol
                    .transport()
                    .parse(&IncomingRequest::from_http(&request, "/api"))
                    .unwrap();
                assert_eq!(parsed.call, call, "{protocol}");
                let part = parsed.file.unwrap();
                assert_eq!(
                    part.content,
                    FileContent::Memory(file[..length].to_vec()),
                    "{protocol} {length}"
                );
                if protocol != Protocol::XmlRpc {
                    assert!(part.filename.unwrap().contains("b"), "{protocol}");
                }
            }
        }
    }

    #[test]
    #[cfg(feature = "server")]
    fn http_text_round_trips() {
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: "https://api.ipernity.com/api/soap".to_owned(),
            headers: vec![("Content-Type".to_owned(), "text/xml".to_owned())],
            body: b"<x/>".to_vec(),
        };
        let text = request.to_http_text();
        assert!(text.starts_with(b"POST /api/soap HTTP/1.1\r\nHost: api.ipernity.com\r\n"));
        let back = HttpRequest::from_http_text(&text).unwrap();
        assert_eq!(back.body, request.body);
        assert_eq!(back.header("content-type"), Some("text/xml"));
        assert!(HttpRequest::from_http_text(b"POST / HTTP/1.1\nContent-Length: 9\n\nabc").is_err());
        let incoming = IncomingRequest::from_http(&back, "/api");
        assert_eq!(incoming.path, "soap");
    }
}
