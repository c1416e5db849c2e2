//! The SOAP response format (the SOAP endpoint's default), and the envelope reader the SOAP
//! request parser shares.
//!
//! Wire rules (`protocols/formats.md`):
//! - Success: a SOAP 1.2 envelope whose `Body` holds `x:ipernityResponse` (namespace
//!   `urn:ipernity`) with the XML-format document, `<api status="ok">` wrapper included, as
//!   escaped text. Decoders also accept the payload without the wrapper, and unescaped.
//! - Fault: `s:Fault` with un-namespaced `faultcode` (`ipernity.error.N`), `faultstring`,
//!   `faultactor` and `details`. Decoders also accept a SOAP 1.2 standard fault (`Code/Value`,
//!   `Code/Subcode/Value`, `Reason/Text`); one that carries no Ipernity code becomes
//!   [`Error::Fault`] with the fault text.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::{QName, ResolveResult};

use super::xml::{interpret_api, parse_tree, span_range};
use super::xml_text::{escape_text_into, forbidden_control, utf8};
use super::{Format, ipernity_fault_code};
#[cfg(test)]
use crate::error::ErrorCode;
use crate::error::{ApiError, Error};
use crate::value::{Map, Value};

/// The SOAP 1.2 envelope namespace.
pub const SOAP12_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The SOAP 1.1 envelope namespace (accepted by the response decoder only).
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The namespace of `ipernityRequest` and `ipernityResponse`.
pub const IPERNITY_NS: &str = "urn:ipernity";
/// The 1999 XML Schema namespaces the envelope binds to `xsd` and `xsi`.
pub(crate) const ENVELOPE_OPEN: &str = "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:xsi=\"http://www.w3.org/1999/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/1999/XMLSchema\">";

const FAULT_ACTOR: &str = "http://api.ipernity.com/api/soap/";
const FAULT_DETAILS: &str = "See http://www.ipernity.com/help/api for more details";

/// Decodes a SOAP response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let text = utf8(body, Format::Soap)?;
    let child =
        read_envelope(text, true).map_err(|reason| Error::malformed(Format::Soap, reason))?;
    if child.local_name == "Fault" {
        return Err(fault_error(child.content)?);
    }
    if child.local_name != "ipernityResponse" {
        return Err(Error::malformed(
            Format::Soap,
            format!(
                "the Body holds <{}>, expected <ipernityResponse> or <Fault>",
                child.local_name
            ),
        ));
    }
    let inner = if child.content.contains('<') {
        // Not escaped: CDATA or the document as elements. Read it as element text or content.
        let wrapped = format!("<r>{}</r>", child.content);
        match parse_tree(&wrapped, Format::Soap)?.value {
            Value::String(text) => text.into_string(),
            _ => return decode_document(child.content, Format::Soap),
        }
    } else {
        quick_xml::escape::unescape(child.content)
            .map_err(|e| Error::malformed(Format::Soap, format!("in ipernityResponse: {e}")))?
            .into_owned()
    };
    decode_document(&inner, Format::Soap)
}

/// Decodes the XML document carried by a SOAP or XML-RPC success, with or without its
/// `<api status="ok">` wrapper.
pub(crate) fn decode_document(document: &str, format: Format) -> Result<Value, Error> {
    // The document was unescaped from text, where `&#1;` can stand for a character that XML
    // forbids in any document.
    if let Some(at) = forbidden_control(document.as_bytes()) {
        return Err(Error::malformed(
            format,
            format!(
                "the response document holds a control character XML does not allow (U+{:04X}) at byte {at}",
                document.as_bytes().get(at).copied().unwrap_or_default()
            ),
        ));
    }
    let mut document = document.trim_start();
    if document.starts_with("<?xml")
        && let Some(end) = document.find("?>")
    {
        document = document.get(end + 2..).unwrap_or_default().trim_start();
    }
    if !document.starts_with('<') {
        return Err(Error::malformed(
            format,
            "the response text is not an XML document",
        ));
    }
    let has_wrapper = ["<api ", "<api>", "<api/", "<api\n", "<api\t", "<api\r"]
        .iter()
        .any(|start| document.starts_with(start));
    if has_wrapper {
        interpret_api(parse_tree(document, format)?, format)
    } else {
        let wrapped = format!("<api status=\"ok\">{document}</api>");
        interpret_api(parse_tree(&wrapped, format)?, format)
    }
}

/// The error a `Fault` element reports.
fn fault_error(content: &str) -> Result<Error, Error> {
    let wrapped = format!("<Fault>{content}</Fault>");
    let fault = parse_tree(&wrapped, Format::Soap)?.value;
    let text_of = |value: Option<&Value>| -> Option<String> {
        let value = value?;
        match value {
            Value::Map(_) => value.get(super::xml::TEXT_MEMBER).and_then(Value::to_text),
            other => other.to_text(),
        }
        .map(|text| text.into_owned())
    };
    let code_value = fault.get("Code");
    let candidates = [
        text_of(fault.get("faultcode")),
        text_of(
            code_value
                .and_then(|c| c.get("Subcode"))
                .and_then(|s| s.get("Value")),
        ),
        text_of(code_value.and_then(|c| c.get("Value"))),
    ];
    let message = text_of(fault.get("faultstring"))
        .or_else(|| {
            text_of(
                fault
                    .get("Reason")
                    .map(|r| r.list("Text"))
                    .and_then(<[Value]>::first),
            )
        })
        .unwrap_or_default();
    if let Some(code) = candidates
        .iter()
        .flatten()
        .find_map(|c| ipernity_fault_code(c))
    {
        return Ok(ApiError::new(code, message).into());
    }
    match candidates
        .into_iter()
        .flatten()
        .map(|code| code.trim().to_owned())
        .next()
    {
        Some(code) => Ok(Error::Fault {
            format: Format::Soap,
            code,
            message,
        }),
        None => Err(Error::malformed(
            Format::Soap,
            "a Fault without a fault code",
        )),
    }
}

/// A success envelope around an `<api status="ok">` document, escaped as text.
pub(crate) fn render_success_document(document: &str) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n");
    out.push_str(ENVELOPE_OPEN);
    out.push_str("<s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\">");
    escape_text_into(&mut out, document);
    out.push_str("</x:ipernityResponse></s:Body></s:Envelope>");
    out.into_bytes()
}

/// Renders a payload or an error as a SOAP response body.
pub fn render(outcome: Result<&Map, &ApiError>) -> Vec<u8> {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n");
    match outcome {
        Ok(_) => {
            let mut document = String::new();
            crate::format::xml::write_api_document(&mut document, outcome);
            return render_success_document(&document);
        }
        Err(error) => {
            out.push_str("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><s:Fault><faultcode>ipernity.error.");
            out.push_str(&error.code.to_string());
            out.push_str("</faultcode><faultstring>");
            escape_text_into(&mut out, &error.message);
            out.push_str("</faultstring><faultactor>");
            out.push_str(FAULT_ACTOR);
            out.push_str("</faultactor><details>");
            out.push_str(FAULT_DETAILS);
            out.push_str("</details></s:Fault></s:Body></s:Envelope>");
        }
    }
    out.into_bytes()
}

/// The one element inside a SOAP `Body`.
#[derive(Debug)]
pub(crate) struct BodyChild<'a> {
    /// The element's namespace, if it has one (the request parser checks it).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) namespace: Option<String>,
    /// The element's local name.
    pub(crate) local_name: String,
    /// The raw (still escaped) content between its start and end tags.
    pub(crate) content: &'a str,
}

/// Walks `Envelope/Body` and returns the element inside the Body, checking that the document is
/// well-formed around it and that nothing but comments and whitespace follows the envelope.
/// `lenient` also accepts the SOAP 1.1 namespace.
pub(crate) fn read_envelope(text: &str, lenient: bool) -> Result<BodyChild<'_>, String> {
    let mut reader = NsReader::from_str(text);
    // Each event with its element's namespace and whether that is the envelope namespace.
    let read = |reader: &mut NsReader<&[u8]>| {
        reader.read_resolved_event().map(|(ns, event)| {
            let namespace = match ns {
                ResolveResult::Bound(ns) => Some(ns.0.to_owned()),
                _ => None,
            };
            let in_soap_ns = namespace
                .as_deref()
                .is_some_and(|ns| ns == SOAP12_NS || (lenient && ns == SOAP11_NS));
            (namespace, in_soap_ns, event.into_owned())
        })
    };
    let position = |reader: &NsReader<&[u8]>| reader.error_position();

    // Prolog, then the Envelope.
    loop {
        let (_, in_soap_ns, event) = read(&mut reader)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", position(&reader)))?;
        match event {
            Event::Start(start) if start.local_name().as_ref() == "Envelope" && in_soap_ns => break,
            Event::Start(start) | Event::Empty(start) => {
                return Err(format!(
                    "the root element <{}> is not a SOAP 1.2 Envelope",
                    start.name().as_ref()
                ));
            }
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::DocType(_) => return Err("a DTD (not accepted)".to_owned()),
            Event::Eof => return Err("an empty document".to_owned()),
            _ => return Err("content before the root element".to_owned()),
        }
    }
    // Envelope children: an optional Header, then the Body.
    loop {
        let (_, in_soap_ns, event) = read(&mut reader)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", position(&reader)))?;
        match event {
            Event::Start(start) if start.local_name().as_ref() == "Header" && in_soap_ns => {
                let name = start.name().as_ref().to_owned();
                reader
                    .read_to_end(QName(&name))
                    .map_err(|e| format!("in the Header: {e}"))?;
            }
            Event::Empty(start) if start.local_name().as_ref() == "Header" && in_soap_ns => {}
            Event::Start(start) if start.local_name().as_ref() == "Body" && in_soap_ns => break,
            Event::Empty(start) if start.local_name().as_ref() == "Body" && in_soap_ns => {
                return Err("the Body is empty".to_owned());
            }
            Event::Start(start) | Event::Empty(start) => {
                return Err(format!(
                    "<{}> where the SOAP Body was expected",
                    start.name().as_ref()
                ));
            }
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => return Err("truncated: the envelope has no Body".to_owned()),
            _ => return Err("text where the SOAP Body was expected".to_owned()),
        }
    }
    // The Body's one element.
    let child = loop {
        let (namespace, _, event) = read(&mut reader)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", position(&reader)))?;
        match event {
            Event::Start(start) => {
                let local_name = start.local_name().as_ref().to_owned();
                let name = start.name().as_ref().to_owned();
                let span = reader
                    .read_to_end(QName(&name))
                    .map_err(|e| format!("truncated or not well-formed inside <{name}>: {e}"))?;
                let content = text
                    .get(span_range(&span))
                    .ok_or("an element span outside the document")?;
                break BodyChild {
                    namespace,
                    local_name,
                    content,
                };
            }
            Event::Empty(start) => {
                let local_name = start.local_name().as_ref().to_owned();
                break BodyChild {
                    namespace,
                    local_name,
                    content: "",
                };
            }
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::Comment(_) | Event::PI(_) => {}
            Event::End(_) => return Err("the Body is empty".to_owned()),
            Event::Eof => return Err("truncated inside the Body".to_owned()),
            _ => return Err("text directly inside the Body".to_owned()),
        }
    };
    // The rest: end of Body, end of Envelope, then only comments and whitespace.
    let mut closed = 0;
    loop {
        let (_, _, event) = read(&mut reader)
            .map_err(|e| format!("not well-formed XML at byte {}: {e}", position(&reader)))?;
        match event {
            Event::End(_) if closed < 2 => closed += 1,
            Event::Text(t) if t.xml10_content().trim().is_empty() => {}
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof if closed == 2 => return Ok(child),
            Event::Eof => return Err("truncated: the envelope is not closed".to_owned()),
            Event::Start(start) | Event::Empty(start) if closed < 2 => {
                return Err(format!(
                    "a second element <{}> in the Body",
                    start.name().as_ref()
                ));
            }
            _ => return Err("content after the envelope".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"<?xml version="1.0" encoding="utf-8" ?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
            xmlns:xsi="http://www.w3.org/1999/XMLSchema-instance"
            xmlns:xsd="http://www.w3.org/1999/XMLSchema">
  <s:Body>
    <x:ipernityResponse xmlns:x="urn:ipernity">&lt;api status="ok"&gt;&lt;hello&gt;hello world!&lt;/hello&gt;&lt;/api&gt;</x:ipernityResponse>
  </s:Body>
</s:Envelope>"#;

    #[test]
    fn decodes_the_documented_envelope() {
        let v = decode(OK.as_bytes()).unwrap();
        assert_eq!(v.get("hello").and_then(Value::as_str), Some("hello world!"));
    }

    #[test]
    fn decodes_a_payload_without_the_wrapper() {
        let body = OK
            .replace("&lt;api status=\"ok\"&gt;", "")
            .replace("&lt;/api&gt;", "");
        let v = decode(body.as_bytes()).unwrap();
        assert_eq!(v.get("hello").and_then(Value::as_str), Some("hello world!"));
    }

    #[test]
    fn decodes_both_fault_shapes() {
        let documented = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><faultcode>ipernity.error.105</faultcode><faultstring>Signature is invalid</faultstring><faultactor>x</faultactor><details>y</details></s:Fault></s:Body></s:Envelope>"#;
        let err = decode(documented.as_bytes()).unwrap_err();
        assert_eq!(
            err.api_error().unwrap(),
            &ApiError::new(ErrorCode::SignatureInvalid, "Signature is invalid")
        );

        let standard = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">Bad &amp; wrong</env:Text></env:Reason></env:Fault></env:Body></env:Envelope>"#;
        match decode(standard.as_bytes()).unwrap_err() {
            Error::Fault { code, message, .. } => {
                assert_eq!(code, "env:Sender");
                assert_eq!(message, "Bad & wrong");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn renders_what_it_decodes() {
        let payload: Map = [("hello".into(), Value::from("a <b> & c"))]
            .into_iter()
            .collect();
        let body = render(Ok(&payload));
        assert_eq!(decode(&body).unwrap(), Value::Map(payload));
        let error = ApiError::global(ErrorCode::InvalidSoapEnvelope);
        assert_eq!(
            decode(&render(Err(&error))).unwrap_err().api_error(),
            Some(&error)
        );
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        for bad in [
            "",
            "<html><body>502</body></html>",
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>",
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body><x:ipernityResponse xmlns:x=\"urn:ipernity\"/></s:Body></s:Envelope>junk",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(Error::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
