//! XML-RPC (`protocols/xmlrpc.md`; uploads in `protocols/README.md`).
//!
//! Wire rules:
//! - `POST {base}/xmlrpc[/{format}]`, `Content-Type: text/xml`. No suffix (or `xmlrpc`) answers in
//!   XML-RPC; `json`, `xml`, `php` select another format; anything else is 102, answered as an
//!   XML-RPC fault.
//! - `methodCall` with `methodName` and exactly one `<param>` holding one `<struct>`; one
//!   `<member>` per parameter (`api_key`, `auth_token`, `api_sig` included), every value a
//!   `<string>`, text XML-escaped.
//! - 122 when the body is not well-formed XML, the root is not `methodCall`, `methodName` is
//!   missing, or `params` is not exactly one struct; 103 for an empty or unknown method.

use super::{
    HttpMethod, HttpRequest, Protocol, Transport, UploadEnvelope, check_format, check_xml_text,
    endpoint_url,
};
use crate::call::Call;
use crate::error::Error;
use crate::format::Format;
use crate::format::xml_text::escape_text_into;

/// What only the emulator's side, parsing requests, needs.
#[cfg(feature = "server")]
use {
    super::{FilePart, IncomingRequest, ParsedRequest, RequestError, check_method, suffix_format},
    crate::call::Params,
    crate::error::ErrorCode,
    crate::format::xmlrpc::{from_dxr, scan},
    crate::value::Value,
};

/// The XML-RPC transport.
#[derive(Debug, Clone, Copy, Default)]
pub struct XmlRpc;

impl Transport for XmlRpc {
    fn protocol(&self) -> Protocol {
        Protocol::XmlRpc
    }

    fn default_format(&self) -> Format {
        Format::XmlRpc
    }

    fn formats(&self) -> &'static [Format] {
        &[Format::XmlRpc, Format::Json, Format::Xml, Format::Php]
    }

    fn encode(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
    ) -> Result<HttpRequest, Error> {
        let (mut request, after) = self.encode_parts(base_url, call, format, false)?;
        request.body.extend_from_slice(&after);
        Ok(request)
    }

    fn encode_upload(
        &self,
        base_url: &str,
        call: &Call,
        _filename: &str,
        format: Option<Format>,
    ) -> Result<UploadEnvelope, Error> {
        // XML-RPC's base64 member has no place for a file name.
        let (head, after) = self.encode_parts(base_url, call, format, true)?;
        Ok(UploadEnvelope::base64_between(head, after))
    }

    #[cfg(feature = "server")]
    fn parse(&self, request: &IncomingRequest<'_>) -> Result<ParsedRequest, RequestError> {
        let suffix = request
            .path
            .strip_prefix("xmlrpc")
            .and_then(|rest| rest.strip_prefix('/'));
        let format = suffix_format(suffix, self)?;
        let invalid = || RequestError::new(ErrorCode::InvalidXmlRpcEnvelope, format);
        let text = super::xml_text(request.body).ok_or_else(invalid)?;
        let shape = scan(text, "methodCall", &["methodName"]).map_err(|_| invalid())?;
        // dxr refuses an empty name; give it a stand-in so the rest of the envelope is still
        // checked (an empty method in a valid envelope is 103, not 122).
        let name_is_empty = shape.first_child_content.trim().is_empty();
        let checked_text = if name_is_empty {
            let span = shape.first_child_span;
            let (before, after) = (
                text.get(..span.start).unwrap_or_default(),
                text.get(span.end..).unwrap_or_default(),
            );
            let closed = if after.starts_with("</") {
                after.to_owned()
            } else {
                format!("</methodName>{after}")
            };
            let opened = before
                .strip_suffix("/>")
                .map_or_else(|| before.to_owned(), |b| format!("{b}>"));
            std::borrow::Cow::Owned(format!("{opened}-{closed}"))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let call = dxr::MethodCall::from_xml(&checked_text).map_err(|_| invalid())?;
        let [dxr::Value::Struct(members)] = call.params.as_slice() else {
            return Err(invalid());
        };
        let mut params = Params::new();
        let mut file = None;
        for (name, value) in members.iter() {
            if let (dxr::Value::Base64(data), "file") = (value, name.as_str()) {
                file = Some(FilePart::in_memory(None, data.clone()));
                continue;
            }
            let text = match from_dxr(value).map_err(|_| invalid())? {
                Value::List(_) | Value::Map(_) => return Err(invalid()),
                scalar => scalar.to_text().map(|t| t.into_owned()).unwrap_or_default(),
            };
            params.insert(name.as_str(), text);
        }
        let method = if name_is_empty { "" } else { call.name.trim() };
        if method.is_empty() {
            return Err(RequestError::new(ErrorCode::MethodNotFound, format));
        }
        check_method(method, format)?;
        Ok(ParsedRequest {
            call: Call::with_params(method, params),
            format,
            http_method: request.method,
            file,
        })
    }
}

impl XmlRpc {
    /// The methodCall up to the file (or to the end when there is none), and what follows it.
    fn encode_parts(
        &self,
        base_url: &str,
        call: &Call,
        format: Option<Format>,
        with_file: bool,
    ) -> Result<(HttpRequest, Vec<u8>), Error> {
        call.validate()?;
        check_xml_text(call, false)?;
        let format = check_format(format, self)?;
        let mut body =
            String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<methodCall><methodName>");
        escape_text_into(&mut body, call.method());
        body.push_str("</methodName><params><param><value><struct>");
        for (name, value) in call.params().iter() {
            body.push_str("<member><name>");
            escape_text_into(&mut body, name);
            body.push_str("</name><value><string>");
            escape_text_into(&mut body, value);
            body.push_str("</string></value></member>");
        }
        let mut after = String::new();
        if with_file {
            body.push_str("<member><name>file</name><value><base64>");
            after.push_str("</base64></value></member>");
        }
        after.push_str("</struct></value></param></params></methodCall>");
        let request = HttpRequest {
            method: HttpMethod::Post,
            url: endpoint_url(base_url, "xmlrpc", format, self),
            headers: vec![("Content-Type".to_owned(), "text/xml".to_owned())],
            body: body.into_bytes(),
        };
        Ok((request, after.into_bytes()))
    }
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::*;

    fn parse(path: &str, body: &str) -> Result<ParsedRequest, RequestError> {
        XmlRpc.parse(&IncomingRequest {
            method: HttpMethod::Post,
            path,
            query: "",
            content_type: Some("text/xml"),
            body: body.as_bytes(),
        })
    }

    #[test]
    fn round_trips_a_call() {
        let call = Call::new("test.echo")
            .param("echo", "<&> ]]> Zoë")
            .param("zero", "0")
            .param("empty", "");
        let request = XmlRpc.encode("http://h/api", &call, None).unwrap();
        assert_eq!(request.url, "http://h/api/xmlrpc");
        let parsed = parse("xmlrpc", std::str::from_utf8(&request.body).unwrap()).unwrap();
        assert_eq!(parsed.call, call);
        assert_eq!(parsed.format, Format::XmlRpc);
    }

    #[test]
    fn answers_122_102_and_103() {
        let code = |path: &str, body: &str| parse(path, body).unwrap_err().error.code;
        assert_eq!(code("xmlrpc", "not xml"), ErrorCode::InvalidXmlRpcEnvelope);
        assert_eq!(
            code("xmlrpc", "<methodResponse/>"),
            ErrorCode::InvalidXmlRpcEnvelope
        );
        assert_eq!(
            code("xmlrpc", "<methodCall><params/></methodCall>"),
            ErrorCode::InvalidXmlRpcEnvelope
        );
        assert_eq!(
            code(
                "xmlrpc",
                "<methodCall><methodName>test.echo</methodName><params><param><value><string>x</string></value></param></params></methodCall>"
            ),
            ErrorCode::InvalidXmlRpcEnvelope
        );
        assert_eq!(code("xmlrpc/csv", ""), ErrorCode::InvalidFormat);
        let empty_struct =
            "<params><param><value><struct></struct></value></param></params></methodCall>";
        assert_eq!(
            code(
                "xmlrpc",
                &format!("<methodCall><methodName/>{empty_struct}")
            ),
            ErrorCode::MethodNotFound
        );
        assert_eq!(
            code(
                "xmlrpc",
                &format!("<methodCall><methodName> </methodName>{empty_struct}")
            ),
            ErrorCode::MethodNotFound
        );
        assert_eq!(
            code(
                "xmlrpc",
                "<methodCall><methodName/><params></params></methodCall>"
            ),
            ErrorCode::InvalidXmlRpcEnvelope
        );
        assert_eq!(
            code(
                "xmlrpc",
                "<methodCall><methodName>doc.fly</methodName><params><param><value><struct></struct></value></param></params></methodCall>"
            ),
            ErrorCode::MethodNotFound
        );
    }
}
