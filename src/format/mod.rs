//! Response formats: [`Format`] and one module per format, each holding its decoder (client side)
//! and its renderer (emulator side).
//!
//! Every decoder turns a body into the response payload (the document without its `api` status
//! member) or into the error the API answered, and every renderer writes a payload or an error in
//! the form `protocols/formats.md` fixes. Decoders are lenient about what they accept, strict about
//! resources: at most [`MAX_DEPTH`] levels of nesting, no trailing bytes, no allocation beyond what
//! the input justifies.
//!
//! ```
//! use ipernity::{Format, Value};
//! let format: Format = "php".parse().unwrap();
//! let body = br#"a:2:{s:3:"api";a:1:{s:6:"status";s:2:"ok";}s:5:"hello";s:12:"hello world!";}"#;
//! let payload = format.decode(body).unwrap();
//! assert_eq!(payload.get("hello").and_then(Value::as_str), Some("hello world!"));
//! ```

use crate::error::{ApiError, Error, ErrorCode};
use crate::value::{Map, Value};

pub mod json;
pub mod php;
pub mod soap;
pub mod xml;
pub(crate) mod xml_text;
pub mod xmlrpc;

pub use crate::format_name::{Format, UnknownName};

/// The deepest nesting any decoder accepts (elements, arrays or maps inside one another).
pub const MAX_DEPTH: usize = 128;

impl Format {
    /// Decodes a response body into its payload, or the error the API answered.
    pub fn decode(self, body: &[u8]) -> Result<Value, Error> {
        match self {
            Format::Json => json::decode(body),
            Format::Xml => xml::decode(body),
            Format::Php => php::decode(body),
            Format::Soap => soap::decode(body),
            Format::XmlRpc => xmlrpc::decode(body),
        }
    }

    /// Renders a payload (the members beside `api`) or an error as a response body.
    pub fn render(self, outcome: Result<&Map, &ApiError>) -> Vec<u8> {
        match self {
            Format::Json => json::render(outcome),
            Format::Xml => xml::render(outcome),
            Format::Php => php::render(outcome),
            Format::Soap => soap::render(outcome),
            Format::XmlRpc => xmlrpc::render(outcome),
        }
    }
}

/// Renders an xml answer's success document in `format`'s envelope (SOAP or XML-RPC) exactly
/// as [`Format::render`] would have from its payload: `None` for another format, or a body
/// that is not an xml answer.
#[cfg(feature = "bridge")]
pub(crate) fn xml_in_envelope(format: Format, body: &[u8]) -> Option<Vec<u8>> {
    let document = xml::api_document(body)?;
    match format {
        Format::Soap => Some(soap::render_success_document(document)),
        Format::XmlRpc => Some(xmlrpc::render_success_document(document)),
        _ => None,
    }
}

/// Reads the `api` status member of a JSON or PHP document (both encode the same array) and
/// returns the rest as the payload.
pub(crate) fn interpret_document(document: Value, format: Format) -> Result<Value, Error> {
    let Value::Map(mut members) = document else {
        return Err(Error::malformed(
            format,
            format!(
                "the document is a {}, expected a map with an `api` member",
                document.kind()
            ),
        ));
    };
    let Some(api) = members.remove("api") else {
        return Err(Error::malformed(format, "the document has no `api` member"));
    };
    let status = api.get("status").and_then(Value::to_text);
    match status.as_deref() {
        Some("ok") => Ok(Value::Map(members)),
        Some(_) => Err(api_error_from(&api, format)?.into()),
        None => Err(Error::malformed(format, "the `api` member has no `status`")),
    }
}

/// The error described by an `api` member (or `<api>` attributes) whose status is not `ok`.
pub(crate) fn api_error_from(api: &Value, format: Format) -> Result<ApiError, Error> {
    let code = api
        .get("code")
        .ok_or_else(|| Error::malformed(format, "an error status without a `code`"))?;
    let number = code
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            Error::malformed(format, format!("the error code {code:?} is not a number"))
        })?;
    let message = api
        .get("message")
        .and_then(Value::to_text)
        .map(|text| text.into_owned())
        .unwrap_or_default();
    Ok(ApiError::new(ErrorCode::from_u32(number), message))
}

/// Parses the code of a SOAP or XML-RPC fault: `N` or `ipernity.error.N`.
pub(crate) fn ipernity_fault_code(text: &str) -> Option<ErrorCode> {
    let text = text.trim();
    let digits = text.strip_prefix("ipernity.error.").unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u32>().ok().map(ErrorCode::from_u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>().unwrap(), format);
        }
        let err = "yaml".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("yaml"));
    }

    #[test]
    #[cfg(feature = "bridge")]
    fn an_xml_answer_in_an_envelope_is_what_the_envelope_format_renders() {
        let mut doc = Map::default();
        doc.insert("doc_id".into(), Value::from("7".to_owned()));
        doc.insert("title".into(), Value::from("a <b> & \"c\"".to_owned()));
        let mut payload = Map::default();
        payload.insert("doc".into(), Value::Map(doc));
        let xml = xml::render(Ok(&payload));
        for format in [Format::Soap, Format::XmlRpc] {
            assert_eq!(
                xml_in_envelope(format, &xml).unwrap(),
                format.render(Ok(&payload)),
                "{format}"
            );
        }
        assert_eq!(xml_in_envelope(Format::Json, &xml), None);
        assert_eq!(xml_in_envelope(Format::Soap, b"<html/>"), None);
        assert_eq!(
            xml::api_document(b"\xef\xbb\xbf<?xml version=\"1.0\"?>\n <api/>"),
            Some("<api/>")
        );
    }

    #[test]
    fn fault_codes_accept_both_spellings() {
        assert_eq!(
            ipernity_fault_code("ipernity.error.105"),
            Some(ErrorCode::SignatureInvalid)
        );
        assert_eq!(ipernity_fault_code(" 2 "), Some(ErrorCode::Method(2)));
        assert_eq!(ipernity_fault_code("s:Sender"), None);
        assert_eq!(ipernity_fault_code("ipernity.error."), None);
        assert_eq!(ipernity_fault_code("-32700"), None);
    }
}
