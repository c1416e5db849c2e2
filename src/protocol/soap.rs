//! SOAP (`protocols/soap.md`; uploads in `protocols/README.md`).
//!
//! Wire rules:
//! - `POST {base}/soap[/{format}]`, `Content-Type: application/soap+xml; charset=utf-8` (the
//!   emulator also accepts `text/xml`). No suffix (or `soap`) answers in SOAP; `json`, `xml`, `php`
//!   select another format; anything else is 102, answered as a SOAP fault.
//! - A SOAP 1.2 envelope whose Body holds `x:ipernityRequest` (namespace `urn:ipernity`) with
//!   `<method>` first, then one un-namespaced element per parameter (`api_key`, `auth_token` and
//!   `api_sig` included), text XML-escaped. A second `<method>` element is the parameter `method`
//!   (as `api.methods.get` takes).
//! - 121 when the body is not well-formed XML, not a SOAP 1.2 Envelope with a Body, or the Body
//!   does not hold `ipernityRequest` in `urn:ipernity`; 103 for a missing or unknown method.

use super::{
    HttpMethod, HttpRequest, Protocol, Transport, UploadEnvelope, check_format, check_xml_text,
    endpoint_url,
};
use crate::call::Call;
use crate::error::Error;
use crate::format::Format;
use crate::format::soap::ENVELOPE_OPEN;
use crate::format::xml_text::{escape_attr_into, escape_text_into, first_non_xml_char};

/// What only the emulator's side, parsing requests, needs.
#[cfg(feature = "server")]
use {
    super::{FilePart, IncomingRequest, ParsedRequest, RequestError, check_method, suffix_format},
    crate::call::Params,
    crate::error::ErrorCode,
    crate::format::soap::{IPERNITY_NS, read_envelope},
    crate::format::xml::resolve_reference,
    base64::Engine,
    quick_xml::Reader,
    quick_xml::events::Event,
};

/// The content type of SOAP 1.2 requests.
pub(crate) const SOAP_CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// The SOAP transport.
#[derive(Debug, Clone, Copy, Default)]
pub struct Soap;

impl Transport for Soap {
    fn protocol(&self) -> Protocol {
        Protocol::Soap
    }

    fn default_format(&self) -> Format {
        Format::Soap
    }

    fn formats(&self) -> &'static [Format] {
        &[Format::Soap, Format::Json, Format::Xml, Format::Php]
    }

    fn encode(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
    ) -> Result<HttpRequest, Error> {
        let (mut request, after) = self.encode_parts(base_url, call, format, None)?;
        request.body.extend_from_slice(&after);
        Ok(request)
    }

    fn encode_upload(
        &self,
        base_url: &str,
        call: &Call,
        filename: &str,
        format: Option<Format>,
    ) -> Result<UploadEnvelope, Error> {
        let (head, after) = self.encode_parts(base_url, call, format, Some(filename))?;
        Ok(UploadEnvelope::base64_between(head, after))
    }

    #[cfg(feature = "server")]
    fn parse(&self, request: &IncomingRequest<'_>) -> Result<ParsedRequest, RequestError> {
        let suffix = request
            .path
            .strip_prefix("soap")
            .and_then(|rest| rest.strip_prefix('/'));
        let format = suffix_format(suffix, self)?;
        let invalid = || RequestError::new(ErrorCode::InvalidSoapEnvelope, format);
        let text = super::xml_text(request.body).ok_or_else(invalid)?;
        let child = read_envelope(text, false).map_err(|_| invalid())?;
        if child.local_name != "ipernityRequest" || child.namespace.as_deref() != Some(IPERNITY_NS)
        {
            return Err(invalid());
        }
        let Parameters {
            method,
            params,
            file,
        } = read_parameters(child.content).ok_or_else(invalid)?;
        let method = method.unwrap_or_default();
        if method.is_empty() {
            return Err(RequestError::new(ErrorCode::MethodNotFound, format));
        }
        check_method(&method, format)?;
        Ok(ParsedRequest {
            call: Call::with_params(method, params),
            format,
            http_method: request.method,
            file,
        })
    }
}

impl Soap {
    /// The envelope up to the file (or to the end when there is none), and what follows the file.
    fn encode_parts(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
        filename: Option<&str>,
    ) -> Result<(HttpRequest, Vec<u8>), Error> {
        call.validate()?;
        check_xml_text(call, true)?;
        let format = check_format(format, self)?;
        let mut body = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        body.push_str(ENVELOPE_OPEN);
        body.push_str("<s:Body><x:ipernityRequest xmlns:x=\"urn:ipernity\"><method>");
        escape_text_into(&mut body, call.method());
        body.push_str("</method>");
        for (name, value) in call.params().iter() {
            body.push('<');
            body.push_str(name);
            body.push('>');
            escape_text_into(&mut body, value);
            body.push_str("</");
            body.push_str(name);
            body.push('>');
        }
        let mut after = String::new();
        if let Some(filename) = filename {
            if let Some(c) = first_non_xml_char(filename) {
                return Err(Error::invalid_param(
                    "file",
                    format!("the file name holds {c:?}, a character XML cannot carry"),
                ));
            }
            body.push_str("<file xsi:type=\"xsd:base64Binary\" filename=\"");
            escape_attr_into(&mut body, filename);
            body.push_str("\">");
            after.push_str("</file>");
        }
        after.push_str("</x:ipernityRequest></s:Body></s:Envelope>");
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: endpoint_url(base_url, "soap", format, self),
            headers: vec![("Content-Type".to_owned(), SOAP_CONTENT_TYPE.to_owned())],
            body: body.into_bytes(),
        };
        Ok((request, after.into_bytes()))
    }
}

/// What `ipernityRequest` holds: the method, the parameters, and the uploaded file.
#[cfg(feature = "server")]
#[derive(Default)]
struct Parameters {
    method: Option<String>,
    params: Params,
    file: Option<FilePart>,
}

#[cfg(feature = "server")]
impl Parameters {
    /// Files an element: the first `<method>` names the method, a `<file>` is the upload
    /// (base64, as `protocols/README.md` describes uploads), anything else is a parameter. `None` for a file that is not base64.
    fn store(&mut self, name: String, value: String, filename: Option<String>) -> Option<()> {
        if name == "method" && self.method.is_none() {
            self.method = Some(value.trim().to_owned());
        } else if name == "file" {
            let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let data = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?;
            self.file = Some(FilePart::in_memory(filename, data));
        } else {
            self.params.insert(name, value);
        }
        Some(())
    }
}

/// Reads the children of `ipernityRequest`: each a text-only element. `None` when the content is
/// not a flat list of such elements.
#[cfg(feature = "server")]
fn read_parameters(content: &str) -> Option<Parameters> {
    let mut reader = Reader::from_str(content);
    let mut parameters = Parameters::default();
    // The element being read: its name, its text so far, its `filename` attribute.
    let mut open: Option<(String, String, Option<String>)> = None;
    let filename_of = |start: &quick_xml::events::BytesStart<'_>| {
        start
            .attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == "filename")
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
    };
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) => {
                if open.is_some() {
                    return None; // a parameter holds elements
                }
                open = Some((
                    start.local_name().as_ref().to_owned(),
                    String::new(),
                    filename_of(&start),
                ));
            }
            Event::Empty(start) => {
                if open.is_some() {
                    return None;
                }
                parameters.store(
                    start.local_name().as_ref().to_owned(),
                    String::new(),
                    filename_of(&start),
                )?;
            }
            Event::End(_) => {
                let (name, text, filename) = open.take()?;
                parameters.store(name, text, filename)?;
            }
            Event::Text(text) => match &mut open {
                Some((_, value, _)) => value.push_str(&text.xml10_content()),
                None if text.xml10_content().trim().is_empty() => {}
                None => return None,
            },
            Event::CData(text) => open.as_mut()?.1.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) => {
                let c = resolve_reference(&reference).ok()?;
                open.as_mut()?.1.push(c);
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
            Event::Decl(_) | Event::DocType(_) => return None,
        }
    }
    if open.is_some() {
        return None;
    }
    Some(parameters)
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    fn parse(path: &str, body: &str) -> Result<ParsedRequest, RequestError> {
        Soap.parse(&IncomingRequest {
            method: HttpMethod::Post,
            path,
            query: "",
            content_type: Some(SOAP_CONTENT_TYPE),
            body: body.as_bytes(),
        })
    }

    #[test]
    fn round_trips_a_call_with_markup_in_values() {
        let call = Call::new("api.methods.get")
            .param("method", "doc.get")
            .param("echo", "<&>\"' ]]> \r\n");
        let request = Soap
            .encode("http://h/api", &call, Some(Format::Json))
            .unwrap();
        assert_eq!(request.url, "http://h/api/soap/json");
        let parsed = parse("soap/json", std::str::from_utf8(&request.body).unwrap()).unwrap();
        assert_eq!(parsed.call, call);
        assert_eq!(parsed.format, Format::Json);
    }

    #[test]
    fn refuses_characters_xml_cannot_carry() {
        let err = Soap
            .encode(
                "http://h/api",
                &Call::new("test.echo").param("echo", "a\u{1}b"),
                None,
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidParam { param, .. } if param == "echo"));
    }

    #[test]
    fn answers_121_102_and_103() {
        let code = |path: &str, body: &str| parse(path, body).map(|_| ()).unwrap_err();
        assert_eq!(
            code("soap", "not xml").error.code,
            ErrorCode::InvalidSoapEnvelope
        );
        let wrong_ns = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><method>test.echo</method></x:ipernityRequest></s:Body></s:Envelope>"#;
        assert_eq!(
            code("soap", wrong_ns).error.code,
            ErrorCode::InvalidSoapEnvelope
        );
        let bad = code("soap/html", "whatever");
        assert_eq!(
            (bad.error.code, bad.format),
            (ErrorCode::InvalidFormat, Format::Soap)
        );
        let unknown = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><x:ipernityRequest xmlns:x="urn:ipernity"><method>doc.fly</method></x:ipernityRequest></s:Body></s:Envelope>"#;
        assert_eq!(code("soap", unknown).error.code, ErrorCode::MethodNotFound);
    }
}
