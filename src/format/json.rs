//! The JSON format (`/json`, the REST default).
//!
//! Wire rules (`protocols/formats.md`):
//! - Success: `{"api": {"status": "ok"}, "<root>": …}`, one member per payload root element.
//! - Error: `{"api": {"status": "error", "code": "N", "message": "…"}}`; the code may be a number.
//! - The renderer writes every scalar as a string, as the live service does; decoders accept
//!   strings or numbers.
//!
//! Decoding goes through serde_json, whose recursion limit (128) bounds the nesting.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Format, interpret_document};
use crate::error::{ApiError, Error, excerpt};
use crate::value::{Map, Value};

/// Decodes a `/json` response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let document: Value = serde_json::from_slice(body).map_err(|error| {
        let position = byte_offset(body, error.line(), error.column());
        Error::malformed(
            Format::Json,
            format!("{error} near {}", excerpt(body, position)),
        )
    })?;
    interpret_document(document, Format::Json)
}

/// The byte offset of a serde_json line/column (1-based, column counts bytes).
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(line.saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum();
    line_start + column.saturating_sub(1)
}

/// Renders a payload or an error as a `/json` response body.
pub fn render(outcome: Result<&Map, &ApiError>) -> Vec<u8> {
    let document = Document(outcome);
    serde_json::to_vec(&document).unwrap_or_default()
}

struct Document<'a>(Result<&'a Map, &'a ApiError>);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Ok(payload) => {
                let mut map = serializer.serialize_map(Some(payload.len() + 1))?;
                map.serialize_entry("api", &Status(None))?;
                for (key, value) in payload {
                    map.serialize_entry(key.as_str(), &Strings(value))?;
                }
                map.end()
            }
            Err(error) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("api", &Status(Some(error)))?;
                map.end()
            }
        }
    }
}

struct Status<'a>(Option<&'a ApiError>);

impl Serialize for Status<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("status", "ok")?;
                map.end()
            }
            Some(error) => {
                let mut map = serializer.serialize_map(Some(3))?;
                map.serialize_entry("status", "error")?;
                map.serialize_entry("code", &error.code.to_string())?;
                map.serialize_entry("message", &error.message)?;
                map.end()
            }
        }
    }
}

/// A value with every scalar written as a string.
struct Strings<'a>(&'a Value);

impl Serialize for Strings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Strings(item))?;
                }
                seq.end()
            }
            Value::Map(members) => {
                let mut map = serializer.serialize_map(Some(members.len()))?;
                for (key, value) in members {
                    map.serialize_entry(key.as_str(), &Strings(value))?;
                }
                map.end()
            }
            scalar => serializer.serialize_str(&scalar.to_text().unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn decodes_success_and_error() {
        let v = decode(br#"{"api":{"status":"ok","at":1},"hello":"hello world!"}"#).unwrap();
        assert_eq!(v.get("hello").and_then(Value::as_str), Some("hello world!"));
        assert!(v.get("api").is_none());
        let err =
            decode(br#"{"api": {"status": "error", "code": 1, "message": "Document not found"}}"#)
                .unwrap_err();
        assert_eq!(err.api_error().unwrap().code, ErrorCode::Method(1));
        let err = decode(
            br#"{"api": {"status": "error", "code": "105", "message": "Signature is invalid"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.api_error().unwrap().code, ErrorCode::SignatureInvalid);
    }

    #[test]
    fn refuses_trailing_bytes_deep_nesting_and_missing_status() {
        assert!(matches!(
            decode(br#"{"api":{"status":"ok"}} x"#),
            Err(Error::Malformed { .. })
        ));
        let deep = format!(
            "{{\"api\":{{\"status\":\"ok\"}},\"a\":{}{}}}",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            decode(br#"{"hello":"x"}"#),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(decode(br#"[1]"#), Err(Error::Malformed { .. })));
        assert!(matches!(
            decode(br#"{"api":{"status":"error"}}"#),
            Err(Error::Malformed { .. })
        ));
    }

    #[test]
    fn renders_every_scalar_as_a_string() {
        let payload: Map = [(
            "doc".into(),
            Value::Map(
                [
                    ("doc_id".into(), Value::Int(5)),
                    ("ok".into(), Value::Bool(true)),
                ]
                .into_iter()
                .collect(),
            ),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            String::from_utf8(render(Ok(&payload))).unwrap(),
            r#"{"api":{"status":"ok"},"doc":{"doc_id":"5","ok":"1"}}"#
        );
        let error = ApiError::new(ErrorCode::InvalidFormat, "Invalid format");
        assert_eq!(
            String::from_utf8(render(Err(&error))).unwrap(),
            r#"{"api":{"status":"error","code":"102","message":"Invalid format"}}"#
        );
    }
}
