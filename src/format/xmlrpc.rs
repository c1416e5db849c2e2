//! The XML-RPC response format (the XML-RPC endpoint's default).
//!
//! Wire rules (`protocols/formats.md`):
//! - Success: `methodResponse/params/param/value/string` holding the XML-format document as
//!   escaped text (Flickr's model). Decoders also accept a native struct payload and an untyped
//!   `<value>`.
//! - Fault: a struct with `faultCode` `<int>N</int>` and `faultString`. Decoders also accept the
//!   code as `<i4>`, `<string>N</string>` or `<string>ipernity.error.N</string>`; any other code
//!   becomes [`Error::Fault`].
//!
//! Values are read by dxr. A first pass here checks the document's shape, its depth (at most
//! [`MAX_DEPTH`]) and that nothing follows the root, and keeps error messages short (dxr's
//! errors carry the whole input). A body of exactly the §14.10 success shape (one string of
//! escaped text) is only unescaped: it holds no XML-RPC value for dxr to read.

use quick_xml::Reader;
use quick_xml::events::Event;
use quick_xml::name::QName;

use super::soap::decode_document;
use super::xml::span_range;
use super::xml_text::{escape_text_into, utf8};
use super::{Format, MAX_DEPTH, interpret_document, ipernity_fault_code};
#[cfg(test)]
use crate::error::ErrorCode;
use crate::error::{ApiError, Error};
use crate::value::{Map, Text, Value};

/// Decodes an XML-RPC response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let text = utf8(body, Format::XmlRpc)?;
    if let Some(escaped) = escaped_document(text) {
        let document = quick_xml::escape::unescape(escaped).map_err(|e| {
            Error::malformed(Format::XmlRpc, format!("in the response string: {e}"))
        })?;
        return decode_document(&document, Format::XmlRpc);
    }
    let shape = scan(text, "methodResponse", &["params", "fault"])
        .map_err(|reason| Error::malformed(Format::XmlRpc, reason))?;
    if shape.first_child == "fault" {
        let value = dxr::Value::from_xml(shape.first_child_content.trim())
            .map_err(|_| Error::malformed(Format::XmlRpc, "the fault holds no readable <value>"))?;
        return Err(fault_error(&value));
    }
    let response = dxr::MethodResponse::from_xml(text).map_err(|_| {
        Error::malformed(
            Format::XmlRpc,
            "<params> must hold exactly one <param> with one <value>",
        )
    })?;
    match response.value {
        dxr::Value::String(document) => decode_document(&document, Format::XmlRpc),
        dxr::Value::Struct(members) => {
            let native = from_dxr_struct(&members)?;
            if native.get("api").is_some() {
                interpret_document(native, Format::XmlRpc)
            } else {
                Ok(native)
            }
        }
        other => Err(Error::malformed(
            Format::XmlRpc,
            format!(
                "the response value is a {}, expected a string or a struct",
                dxr_kind(&other)
            ),
        )),
    }
}

/// The escaped text of a response that has exactly the shape `protocols/formats.md` gives (whitespace aside):
/// `methodResponse/params/param/value[/string]` holding text only. Such a body needs no general
/// XML-RPC parse, only unescaping; anything else goes through the shape scan and dxr.
fn escaped_document(text: &str) -> Option<&str> {
    let mut rest = text.trim_start();
    if rest.starts_with("<?xml") {
        rest = rest.get(rest.find("?>")? + 2..)?;
    }
    for tag in ["<methodResponse>", "<params>", "<param>", "<value>"] {
        rest = rest.trim_start().strip_prefix(tag)?;
    }
    let mut tail = rest.trim_end();
    for tag in ["</methodResponse>", "</params>", "</param>", "</value>"] {
        tail = tail.strip_suffix(tag)?.trim_end();
    }
    let content = match tail.trim_start().strip_prefix("<string>") {
        Some(inner) => inner.strip_suffix("</string>")?,
        None => tail,
    };
    (!content.contains('<')).then_some(content)
}

fn fault_error(value: &dxr::Value) -> Error {
    let dxr::Value::Struct(members) = value else {
        return Error::malformed(Format::XmlRpc, "the fault value is not a struct");
    };
    let message = match members.get("faultString") {
        Some(dxr::Value::String(text)) => text.clone(),
        _ => String::new(),
    };
    let code_text = match members.get("faultCode") {
        Some(dxr::Value::Integer(n)) => n.to_string(),
        Some(dxr::Value::Long(n)) => n.to_string(),
        Some(dxr::Value::String(text)) => text.clone(),
        _ => return Error::malformed(Format::XmlRpc, "the fault has no faultCode"),
    };
    match ipernity_fault_code(&code_text) {
        Some(code) => ApiError::new(code, message).into(),
        None => Error::Fault {
            format: Format::XmlRpc,
            code: code_text,
            message,
        },
    }
}

fn dxr_kind(value: &dxr::Value) -> &'static str {
    match value {
        dxr::Value::Integer(_) | dxr::Value::Long(_) => "integer",
        dxr::Value::Boolean(_) => "boolean",
        dxr::Value::String(_) => "string",
        dxr::Value::Double(_) => "double",
        dxr::Value::DateTime(_) => "dateTime",
        dxr::Value::Base64(_) => "base64",
        dxr::Value::Struct(_) => "struct",
        dxr::Value::Array(_) => "array",
        _ => "nil",
    }
}

fn from_dxr_struct(
    members: &std::collections::BTreeMap<String, dxr::Value>,
) -> Result<Value, Error> {
    members
        .iter()
        .map(|(name, value)| Ok((Text::from(name.as_str()), from_dxr(value)?)))
        .collect::<Result<Map, Error>>()
        .map(Value::Map)
}

/// Converts a dxr value; the depth is bounded by the shape scan that ran first.
pub(crate) fn from_dxr(value: &dxr::Value) -> Result<Value, Error> {
    Ok(match value {
        dxr::Value::Integer(n) => Value::Int(i64::from(*n)),
        dxr::Value::Long(n) => Value::Int(*n),
        dxr::Value::Boolean(flag) => Value::Bool(*flag),
        dxr::Value::String(text) => Value::String(Text::from(text.as_str())),
        dxr::Value::Double(n) => Value::Float(*n),
        dxr::Value::DateTime(time) => Value::String(Text::from(time.to_string())),
        dxr::Value::Base64(bytes) => Value::String(Text::from_utf8(bytes).map_err(|_| {
            Error::malformed(Format::XmlRpc, "a base64 value that is not UTF-8 text")
        })?),
        dxr::Value::Struct(members) => from_dxr_struct(members)?,
        dxr::Value::Array(items) => {
            Value::List(items.iter().map(from_dxr).collect::<Result<_, _>>()?)
        }
        _ => Value::Null,
    })
}

/// What the shape scan found.
#[derive(Debug)]
pub(crate) struct Shape<'a> {
    /// The first element inside the root.
    pub(crate) first_child: String,
    /// The raw content of that element.
    pub(crate) first_child_content: &'a str,
    /// Where that content sits in the document (an empty range after `/>` for an empty element;
    /// the request parser reads the parameters from there).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) first_child_span: std::ops::Range<usize>,
}

/// Checks that `text` is one well-formed `root` element at most [`MAX_DEPTH`] deep, with no DTD
/// and nothing after it, whose first child is one of `children`.
pub(crate) fn scan<'a>(text: &'a str, root: &str, children: &[&str]) -> Result<Shape<'a>, String> {
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut first: Option<Shape<'a>> = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            Event::Start(start) | Event::Empty(start) if depth == 0 && seen_root => {
                return Err(format!("a second root element <{}>", start.name().as_ref()));
            }
            Event::Start(start) if depth == 0 => {
                if start.local_name().as_ref() != root {
                    return Err(format!(
                        "the root element is <{}>, expected <{root}>",
                        start.name().as_ref()
                    ));
                }
                seen_root = true;
                depth = 1;
            }
            Event::Empty(start) if depth == 0 => {
                return Err(format!(
                    "the root element <{}> is empty",
                    start.name().as_ref()
                ));
            }
            Event::Start(start) if depth == 1 && first.is_none() => {
                let local = start.local_name().as_ref().to_owned();
                if !children.contains(&local.as_str()) {
                    return Err(format!(
                        "<{local}> inside <{root}>, expected one of {children:?}"
                    ));
                }
                let name = start.name().as_ref().to_owned();
                let span = reader
                    .read_to_end(QName(&name))
                    .map_err(|e| format!("inside <{name}>: {e}"))?;
                let range = span_range(&span);
                let content = text
                    .get(range.clone())
                    .ok_or("an element span outside the document")?;
                check_depth(content, depth + 1)?;
                first = Some(Shape {
                    first_child: local,
                    first_child_content: content,
                    first_child_span: range,
                });
            }
            Event::Empty(start) if depth == 1 && first.is_none() => {
                let local = start.local_name().as_ref().to_owned();
                if !children.contains(&local.as_str()) {
                    return Err(format!(
                        "<{local}> inside <{root}>, expected one of {children:?}"
                    ));
                }
                let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                first = Some(Shape {
                    first_child: local,
                    first_child_content: "",
                    first_child_span: end..end,
                });
            }
            Event::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("elements nested more than {MAX_DEPTH} deep"));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) if depth == 0 && !t.xml10_content().trim().is_empty() => {
                return Err("text outside the root element".to_owned());
            }
            Event::CData(_) | Event::GeneralRef(_) if depth == 0 => {
                return Err("text outside the root element".to_owned());
            }
            Event::DocType(_) => return Err("a DTD (not accepted)".to_owned()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err("no root element".to_owned());
    }
    if depth != 0 {
        return Err(format!("truncated: <{root}> is never closed"));
    }
    first.ok_or_else(|| format!("<{root}> holds none of {children:?}"))
}

/// Refuses content nested deeper than [`MAX_DEPTH`] when it starts `base` levels down.
fn check_depth(content: &str, base: usize) -> Result<(), String> {
    let mut reader = Reader::from_str(content);
    let mut depth = base;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(format!("elements nested more than {MAX_DEPTH} deep"));
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(format!("not well-formed XML: {e}")),
        }
    }
}

/// A success `methodResponse` around an `<api status="ok">` document, escaped as a string.
pub(crate) fn render_success_document(document: &str) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<methodResponse>");
    out.push_str("<params><param><value><string>");
    escape_text_into(&mut out, document);
    out.push_str("</string></value></param></params></methodResponse>");
    out.into_bytes()
}

/// Renders a payload or an error as an XML-RPC response body.
pub fn render(outcome: Result<&Map, &ApiError>) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<methodResponse>");
    match outcome {
        Ok(_) => {
            let mut document = String::new();
            crate::format::xml::write_api_document(&mut document, outcome);
            return render_success_document(&document);
        }
        Err(error) => {
            out.push_str("<fault><value><struct><member><name>faultCode</name><value><int>");
            out.push_str(&error.code.to_string());
            out.push_str("</int></value></member><member><name>faultString</name><value><string>");
            escape_text_into(&mut out, &error.message);
            out.push_str("</string></value></member></struct></value></fault>");
        }
    }
    out.push_str("</methodResponse>");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_unescaped_into_a_forbidden_character_is_refused() {
        for escaped in [
            "&lt;api status=\"ok\"&gt;&lt;a&gt;x&#1;y&lt;/a&gt;&lt;/api&gt;",
            "&lt;a&gt;&#x1B;&lt;/a&gt;",
        ] {
            let body = format!(
                "<?xml version=\"1.0\"?><methodResponse><params><param><value><string>{escaped}</string></value></param></params></methodResponse>"
            );
            let err = decode(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains("does not allow"), "{err}");
        }
    }

    #[test]
    fn decodes_escaped_and_native_payloads() {
        let escaped = r#"<?xml version="1.0"?><methodResponse><params><param><value><string>&lt;api status="ok"&gt;&lt;hello&gt;hello world!&lt;/hello&gt;&lt;/api&gt;</string></value></param></params></methodResponse>"#;
        assert_eq!(
            decode(escaped.as_bytes())
                .unwrap()
                .get("hello")
                .and_then(Value::as_str),
            Some("hello world!")
        );
        let untyped = escaped.replace("<string>", "").replace("</string>", "");
        assert_eq!(
            decode(untyped.as_bytes())
                .unwrap()
                .get("hello")
                .and_then(Value::as_str),
            Some("hello world!")
        );
        let native = r#"<methodResponse><params><param><value><struct><member><name>hello</name><value><string>hi</string></value></member><member><name>n</name><value><i4>3</i4></value></member></struct></value></param></params></methodResponse>"#;
        let v = decode(native.as_bytes()).unwrap();
        assert_eq!(v.get("hello").and_then(Value::as_str), Some("hi"));
        assert_eq!(v.get("n"), Some(&Value::Int(3)));
    }

    #[test]
    fn decodes_every_fault_code_spelling() {
        for code in [
            "<int>105</int>",
            "<i4>105</i4>",
            "<string>105</string>",
            "<string>ipernity.error.105</string>",
        ] {
            let body = format!(
                "<methodResponse><fault><value><struct><member><name>faultCode</name><value>{code}</value></member><member><name>faultString</name><value><string>Signature is invalid</string></value></member></struct></value></fault></methodResponse>"
            );
            let err = decode(body.as_bytes()).unwrap_err();
            assert_eq!(
                err.api_error().map(|e| e.code),
                Some(ErrorCode::SignatureInvalid),
                "{code}"
            );
        }
        let generic = "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>-32700</int></value></member><member><name>faultString</name><value>parse error</value></member></struct></value></fault></methodResponse>";
        assert!(matches!(
            decode(generic.as_bytes()),
            Err(Error::Fault { .. })
        ));
    }

    #[test]
    fn round_trips_its_own_rendering() {
        let payload: Map = [("echo".into(), Value::from("a]]>b & <c>"))]
            .into_iter()
            .collect();
        assert_eq!(decode(&render(Ok(&payload))).unwrap(), Value::Map(payload));
        let error = ApiError::global(ErrorCode::InvalidXmlRpcEnvelope);
        assert_eq!(
            decode(&render(Err(&error))).unwrap_err().api_error(),
            Some(&error)
        );
    }

    #[test]
    fn refuses_broken_documents() {
        for bad in [
            "",
            "<methodResponse/>",
            "<methodResponse><params></params></methodResponse>",
            "<methodResponse><params><param><value><string>x</string></value></param></params></methodResponse><x/>",
            "<methodCall/>",
            "<methodResponse><params><param><value><string>x",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(Error::Malformed { .. })),
                "{bad}"
            );
        }
        let deep = format!(
            "<methodResponse><params><param><value>{}1{}</value></param></params></methodResponse>",
            "<array><data><value>".repeat(100),
            "</value></data></array>".repeat(100)
        );
        assert!(matches!(
            decode(deep.as_bytes()),
            Err(Error::Malformed { .. })
        ));
    }
}
