//! The XML format (`/xml`), and the XML helpers the SOAP and XML-RPC modules share.
//!
//! Wire rules (`protocols/formats.md`):
//! - Success: `<api status="ok">` holding the payload; error: `<api status="error" code="N"
//!   message="…">` with no children (an `<error code="N" message="…"/>` child is accepted too).
//! - Mapping to [`Value`]: attributes become string members; child elements become members named
//!   after the element, repeated ones a list; an element with only text becomes a string; text of
//!   an element that also has attributes or children goes under `_value`.
//! - The renderer writes scalars inside objects as attributes and the direct payload of `<api>` as
//!   elements, except the members in `TEXT_ELEMENTS` (`description`, `content`), which the
//!   service always gives as elements of their own (`<description>…</description>`).
//!
//! The parser keeps an explicit stack (no recursion), stops at [`MAX_DEPTH`] levels, refuses DTDs
//! (so no entity is ever expanded) and refuses anything but whitespace, comments and processing
//! instructions after the root element.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use super::xml_text::{
    escape_attr_into, escape_text_into, first_non_xml_char, is_name_char, is_name_start_char,
    is_xml_char, is_xml_name, utf8,
};
use super::{Format, MAX_DEPTH, api_error_from};
use crate::error::{ApiError, Error, excerpt};
use crate::map::NewNames;
use crate::value::{Map, Text, Value, push_entry};

/// The member that holds the text of an element that also has attributes or children.
pub const TEXT_MEMBER: &str = "_value";

/// Members the service writes as text-only child elements, never as attributes. Read back, a
/// text-only element becomes a string member, as an attribute does: both directions agree.
pub(crate) const TEXT_ELEMENTS: [&str; 2] = ["description", "content"];

/// Whether `key: value`, inside an element, is written as a child element.
fn is_child(key: &str, value: &Value) -> bool {
    matches!(value, Value::List(_) | Value::Map(_)) || TEXT_ELEMENTS.contains(&key)
}

/// Decodes an `/xml` response body.
pub fn decode(body: &[u8]) -> Result<Value, Error> {
    let text = utf8(body, Format::Xml)?;
    interpret_api(parse_tree(text, Format::Xml)?, Format::Xml)
}

/// Renders a payload or an error as an `/xml` response body.
pub fn render(outcome: Result<&Map, &ApiError>) -> Vec<u8> {
    let mut out = String::from(DECLARATION);
    write_api_document(&mut out, outcome);
    out.into_bytes()
}

/// The declaration every rendered document opens with.
const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

/// The `<api>` document of an xml answer (its declaration and surrounding whitespace left
/// out), the form SOAP and XML-RPC successes carry it in; `None` when the body is not UTF-8 or
/// holds no `<api` document.
#[cfg(feature = "bridge")]
pub(crate) fn api_document(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim();
    let text = match text.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>")?.1.trim_start(),
        None => text,
    };
    text.starts_with("<api").then_some(text)
}

/// Writes the `<api>` document (without XML declaration).
pub(crate) fn write_api_document(out: &mut String, outcome: Result<&Map, &ApiError>) {
    match outcome {
        Ok(payload) => {
            out.push_str("<api status=\"ok\">");
            for (name, value) in payload {
                write_member_as_elements(out, name, value);
            }
            out.push_str("</api>");
        }
        Err(error) => {
            out.push_str("<api status=\"error\" code=\"");
            out.push_str(&error.code.to_string());
            out.push_str("\" message=\"");
            escape_attr_into(out, &error.message);
            out.push_str("\"></api>");
        }
    }
}

/// A reader's span (content between a start and its end tag) as byte positions in the document.
pub(crate) fn span_range(span: &quick_xml::reader::Span) -> std::ops::Range<usize> {
    usize::try_from(span.start).unwrap_or(usize::MAX)
        ..usize::try_from(span.end).unwrap_or(usize::MAX)
}

/// Writes `value` as one element named `name` (or several, for a list).
fn write_member_as_elements(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::List(items) => {
            for item in items {
                // A list directly inside a list has no XML form; its items are written flat.
                write_member_as_elements(out, name, item);
            }
        }
        Value::Map(map) => write_map_element(out, name, map),
        scalar => {
            let name = element_name(name);
            out.push('<');
            out.push_str(&name);
            out.push('>');
            escape_text_into(out, &scalar.to_text().unwrap_or_default());
            out.push_str("</");
            out.push_str(&name);
            out.push('>');
        }
    }
}

fn write_map_element(out: &mut String, name: &str, map: &Map) {
    let name = element_name(name);
    out.push('<');
    out.push_str(&name);
    let mut text = None;
    let mut has_children = false;
    for (key, value) in map {
        match value {
            _ if is_child(key, value) => has_children = true,
            _ if key == TEXT_MEMBER => text = value.to_text(),
            scalar => {
                out.push(' ');
                out.push_str(&element_name(key));
                out.push_str("=\"");
                escape_attr_into(out, &scalar.to_text().unwrap_or_default());
                out.push('"');
            }
        }
    }
    if !has_children && text.is_none() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    if let Some(text) = text {
        escape_text_into(out, &text);
    }
    for (key, value) in map {
        if is_child(key, value) {
            write_member_as_elements(out, key, value);
        }
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// A member name made safe as an XML name: characters that cannot appear become `_`.
fn element_name(name: &str) -> std::borrow::Cow<'_, str> {
    if is_xml_name(name) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut safe: String = name
        .chars()
        .map(|c| if is_name_char(c) { c } else { '_' })
        .collect();
    if !safe.starts_with(is_name_start_char) {
        safe.insert(0, '_');
    }
    std::borrow::Cow::Owned(safe)
}

/// Reads the `<api>` root of a parsed document: the payload, or the error it reports.
pub(crate) fn interpret_api(tree: Tree, format: Format) -> Result<Value, Error> {
    if tree.name != "api" {
        return Err(Error::malformed(
            format,
            format!("the root element is <{}>, expected <api>", tree.name),
        ));
    }
    let mut payload = match tree.value {
        Value::Map(members) => members,
        Value::String(text) if text.trim().is_empty() => Map::default(),
        _ => return Err(Error::malformed(format, "text directly inside <api>")),
    };
    match tree.attributes.get("status").and_then(Value::as_str) {
        Some("ok") if payload.contains_key(TEXT_MEMBER) => {
            Err(Error::malformed(format, "text directly inside <api>"))
        }
        Some("ok") => Ok(Value::Map(payload)),
        Some(_) if tree.attributes.contains_key("code") => {
            Err(api_error_from(&Value::Map(tree.attributes), format)?.into())
        }
        // The older form: `<api status="error"><error code=… message=…/></api>`.
        Some(_) => {
            let error = payload
                .remove("error")
                .ok_or_else(|| Error::malformed(format, "an error status without a code"))?;
            Err(api_error_from(&error, format)?.into())
        }
        None => Err(Error::malformed(format, "<api> has no status attribute")),
    }
}

/// A parsed document: the root element's name and attributes, and the value of its content.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) name: Text,
    pub(crate) attributes: Map,
    pub(crate) value: Value,
}

/// One open element while parsing. Its members (attributes, then child elements) wait on a
/// stack shared by all open elements and become one map of the right size when it closes.
struct Frame {
    name: Text,
    /// Where this element's members start in the shared stack of entries.
    first_entry: usize,
    text: Text,
    has_children: bool,
}

impl Frame {
    fn close(self, entries: &mut Vec<(Text, Value)>) -> (Text, Value) {
        let Frame {
            name,
            first_entry,
            text,
            has_children,
        } = self;
        let count = entries.len().saturating_sub(first_entry);
        if count == 0 && !has_children {
            return (name, Value::String(text));
        }
        let text = if has_children {
            text.trim()
        } else {
            text.as_str()
        };
        let mut members = Map::with_capacity(count + usize::from(!text.is_empty()));
        let mut names = NewNames::default();
        for (member, value) in entries.drain(first_entry.min(entries.len())..) {
            names.insert_with(&mut members, member, value, repeat_member);
        }
        if !text.is_empty() {
            members.insert(Text::from(TEXT_MEMBER), Value::String(Text::from(text)));
        }
        if members.len() < count {
            // Repeated elements became one list member: give back the room they were counted for.
            members.shrink_to_fit();
        }
        (name, Value::Map(members))
    }
}

/// Pushes an element's attributes, as string members, onto the shared stack of entries
/// (namespace declarations left out).
fn read_attributes(
    start: &BytesStart<'_>,
    reader: &Reader<&[u8]>,
    format: Format,
    entries: &mut Vec<(Text, Value)>,
) -> Result<(), Error> {
    let first = entries.len();
    let mut names = NewNames::default();
    let mut run = crate::map::RunIndex::new(first);
    let mut qualified_names_checked = false;
    // quick-xml's duplicate check allocates for every element and compares each attribute with
    // all before it; ours costs nothing until two attributes share a local name, and then
    // checks the qualified names once, through a hash set: linear in the attributes.
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(|e| parse_error(format, reader, e))?;
        let key = attribute.key;
        if key.as_ref() == "xmlns" || key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| parse_error(format, reader, e))?;
        // Only a replacement (a reference) can have brought in a character the body could not hold.
        if let std::borrow::Cow::Owned(replaced) = &value
            && let Some(c) = first_non_xml_char(replaced)
        {
            return Err(parse_error(
                format,
                reader,
                format!(
                    "a character reference to U+{:04X}, which XML does not allow",
                    u32::from(c)
                ),
            ));
        }
        let local_name = key.local_name();
        let name: &str = local_name.as_ref();
        let earlier = if names.may_hold(name) {
            run.find(entries, name)
        } else {
            None
        };
        let position = match earlier {
            Some(position) => {
                if !std::mem::replace(&mut qualified_names_checked, true) {
                    refuse_repeated_qualified_names(start, reader, format)?;
                }
                // Two prefixes, one local name: the later value wins, as for any member.
                position
            }
            None => {
                if push_entry(entries, name).is_none() {
                    return Err(parse_error(
                        format,
                        reader,
                        "an attribute list that lost its entry",
                    ));
                }
                run.pushed(entries);
                entries.len() - 1
            }
        };
        let Some((_, slot)) = entries.get_mut(position) else {
            return Err(parse_error(
                format,
                reader,
                "an attribute list that lost its entry",
            ));
        };
        slot.set_text(value);
    }
    Ok(())
}

/// Refuses an element whose attributes repeat a qualified name, in one pass over them.
fn refuse_repeated_qualified_names(
    start: &BytesStart<'_>,
    reader: &Reader<&[u8]>,
    format: Format,
) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for attribute in start.attributes().with_checks(false) {
        let attribute = attribute.map_err(|e| parse_error(format, reader, e))?;
        if !seen.insert(attribute.key.into_inner()) {
            return Err(parse_error(
                format,
                reader,
                format!("the attribute {:?} is repeated", attribute.key.into_inner()),
            ));
        }
    }
    Ok(())
}

/// Adds a repeated child element to the member its first occurrence made: the member turns into a
/// list.
fn repeat_member(existing: &mut Value, value: Value) {
    match existing {
        Value::List(items) => items.push(value),
        existing => {
            let first = std::mem::take(existing);
            *existing = Value::List(vec![first, value]);
        }
    }
}

fn parse_error(format: Format, reader: &Reader<&[u8]>, error: impl std::fmt::Display) -> Error {
    let position = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
    let input = reader.get_ref();
    Error::malformed(
        format,
        format!(
            "at byte {position}: {error} near {}",
            excerpt(input, position)
        ),
    )
}

/// Resolves `&name;` or `&#N;` to its text.
pub(crate) fn resolve_reference(reference: &BytesRef<'_>) -> Result<char, String> {
    match reference.resolve_char_ref() {
        Ok(Some(c)) if is_xml_char(c) => Ok(c),
        Ok(Some(c)) => Err(format!(
            "a character reference to U+{:04X}, which XML does not allow",
            u32::from(c)
        )),
        Ok(None) => {
            let name = reference.xml10_content();
            quick_xml::escape::resolve_predefined_entity(&name)
                .and_then(|text| text.chars().next())
                .ok_or_else(|| format!("unknown entity &{name};"))
        }
        Err(error) => Err(error.to_string()),
    }
}

/// Parses an XML document into its root element's name and value (see the module docs for the
/// mapping).
pub(crate) fn parse_tree(text: &str, format: Format) -> Result<Tree, Error> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut entries: Vec<(Text, Value)> = Vec::new();
    let mut root: Option<(Text, Value)> = None;
    let mut root_attributes = Map::default();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| parse_error(format, &reader, e))?;
        match event {
            Event::Start(start) | Event::Empty(start) if root.is_some() => {
                let name = start.local_name().as_ref().to_owned();
                return Err(parse_error(
                    format,
                    &reader,
                    format!("a second root element <{name}>"),
                ));
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(parse_error(
                        format,
                        &reader,
                        format!("elements nested more than {MAX_DEPTH} deep"),
                    ));
                }
                let is_root = stack.is_empty();
                stack.push(open_frame(
                    &start,
                    &reader,
                    format,
                    is_root,
                    &mut root_attributes,
                    &mut entries,
                )?);
            }
            Event::Empty(start) => {
                let is_root = stack.is_empty();
                let frame = open_frame(
                    &start,
                    &reader,
                    format,
                    is_root,
                    &mut root_attributes,
                    &mut entries,
                )?;
                let (name, value) = frame.close(&mut entries);
                attach(&mut stack, &mut entries, &mut root, name, value);
            }
            Event::End(_) => {
                let Some(frame) = stack.pop() else {
                    return Err(parse_error(
                        format,
                        &reader,
                        "an end tag without a start tag",
                    ));
                };
                let (name, value) = frame.close(&mut entries);
                attach(&mut stack, &mut entries, &mut root, name, value);
            }
            Event::Text(content) => {
                let content = content.xml10_content();
                push_text(&mut stack, &content, format, &reader)?;
            }
            Event::CData(content) => {
                let content = content.xml10_content();
                push_text(&mut stack, &content, format, &reader)?;
            }
            Event::GeneralRef(reference) => {
                let c =
                    resolve_reference(&reference).map_err(|e| parse_error(format, &reader, e))?;
                push_text(&mut stack, c.encode_utf8(&mut [0; 4]), format, &reader)?;
            }
            Event::DocType(_) => {
                return Err(parse_error(format, &reader, "a DTD (not accepted)"));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(Error::malformed(
            format,
            format!("truncated: <{}> is never closed", open.name),
        ));
    }
    let (name, value) = root.ok_or_else(|| Error::malformed(format, "no root element"))?;
    Ok(Tree {
        name,
        attributes: root_attributes,
        value,
    })
}

/// Opens an element; the root's attributes are kept apart from its content, so that a child
/// element named like an attribute (`<api status="ok"><status>…`) stays payload.
fn open_frame(
    start: &BytesStart<'_>,
    reader: &Reader<&[u8]>,
    format: Format,
    is_root: bool,
    root_attributes: &mut Map,
    entries: &mut Vec<(Text, Value)>,
) -> Result<Frame, Error> {
    let first_entry = entries.len();
    read_attributes(start, reader, format, entries)?;
    if is_root {
        *root_attributes = entries.drain(first_entry..).collect();
    }
    Ok(Frame {
        name: Text::from(start.local_name().as_ref()),
        first_entry,
        text: Text::default(),
        has_children: false,
    })
}

fn attach(
    stack: &mut [Frame],
    entries: &mut Vec<(Text, Value)>,
    root: &mut Option<(Text, Value)>,
    name: Text,
    value: Value,
) {
    match stack.last_mut() {
        Some(parent) => {
            parent.has_children = true;
            entries.push((name, value));
        }
        None => *root = Some((name, value)),
    }
}

fn push_text(
    stack: &mut [Frame],
    text: &str,
    format: Format,
    reader: &Reader<&[u8]>,
) -> Result<(), Error> {
    match stack.last_mut() {
        Some(top) => {
            top.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(parse_error(format, reader, "text outside the root element")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn payload(xml: &str) -> Value {
        decode(xml.as_bytes()).unwrap()
    }

    #[test]
    fn maps_attributes_children_and_text() {
        let v = payload(
            r#"<?xml version="1.0"?><api status="ok" at="1"><doc doc_id="1" title="Zo&#235; &amp; &#x1F980;"><owner user_id="5"/><tags><tag>a</tag><tag>b &lt; c</tag></tags><description>t &amp; <![CDATA[<raw>]]></description></doc></api>"#,
        );
        let doc = v.get("doc").unwrap();
        assert_eq!(doc.get("doc_id").and_then(Value::as_str), Some("1"));
        assert_eq!(doc.get("title").and_then(Value::as_str), Some("Zoë & 🦀"));
        assert_eq!(
            doc.get("owner")
                .unwrap()
                .get("user_id")
                .and_then(Value::as_str),
            Some("5")
        );
        let tags: Vec<&str> = doc
            .get("tags")
            .unwrap()
            .list("tag")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(tags, ["a", "b < c"]);
        assert_eq!(
            doc.get("description").and_then(Value::as_str),
            Some("t & <raw>")
        );
        assert!(v.get("at").is_none());
    }

    #[test]
    fn children_named_like_api_attributes_stay_payload() {
        let v =
            payload(r#"<api status="ok" at="1"><at>x</at><status>y</status><code>3</code></api>"#);
        assert_eq!(v.get("at").and_then(Value::as_str), Some("x"));
        assert_eq!(v.get("status").and_then(Value::as_str), Some("y"));
        assert_eq!(v.get("code").and_then(Value::as_str), Some("3"));
    }

    #[test]
    fn repeated_attributes_are_refused_but_one_local_name_under_two_prefixes_is_not() {
        for bad in [
            r#"<api status="ok"><doc id="1" id="2"/></api>"#,
            r#"<api status="ok"><doc a="0" b="1" c="2" d="3" e="4" f="5" g="6" b="7"/></api>"#,
            r#"<api status="ok" status="ok"></api>"#,
        ] {
            let err = decode(bad.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::Malformed { .. }), "{bad}: {err}");
        }
        let v = payload(r#"<api status="ok"><doc x:id="1" y:id="2" n="3"/></api>"#);
        let doc = v.get("doc").unwrap();
        assert_eq!(doc.get("id").and_then(Value::as_str), Some("2"));
        assert_eq!(doc.as_map().unwrap().len(), 2);
    }

    #[test]
    fn many_members_and_repeated_children_keep_their_order() {
        let attributes: String = (0..40).map(|n| format!(" a{n}=\"{n}\"")).collect();
        let v = payload(&format!(
            r#"<api status="ok"><doc{attributes}><t>1</t><u>2</u><t>3</t>text</doc></api>"#
        ));
        let doc = v.get("doc").and_then(Value::as_map).unwrap();
        let names: Vec<&str> = doc.keys().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), 43);
        assert_eq!(names[..2], ["a0", "a1"]);
        assert_eq!(names[40..], ["t", "u", TEXT_MEMBER]);
        assert_eq!(doc.get("a39").and_then(Value::as_str), Some("39"));
        assert_eq!(
            doc.get("t"),
            Some(&Value::List(vec!["1".into(), "3".into()]))
        );
    }

    #[test]
    fn text_beside_attributes_goes_under_value() {
        let v = payload(r#"<api status="ok"><note for="params">some text</note></api>"#);
        assert_eq!(
            v.get("note")
                .unwrap()
                .get(TEXT_MEMBER)
                .and_then(Value::as_str),
            Some("some text")
        );
    }

    #[test]
    fn errors_in_both_shapes() {
        let err = decode(br#"<api status="error" code="1" message="Document not found"> </api>"#)
            .unwrap_err();
        assert_eq!(
            err.api_error().unwrap(),
            &ApiError::new(ErrorCode::Method(1), "Document not found")
        );
        let err = decode(
            br#"<api status="error"><error code="100" message="API Key is missing"/></api>"#,
        )
        .unwrap_err();
        assert_eq!(err.api_error().unwrap().code, ErrorCode::ApiKeyMissing);
    }

    #[test]
    fn refuses_dtds_unknown_entities_trailing_content_and_deep_nesting() {
        for bad in [
            "<!DOCTYPE api [<!ENTITY x \"y\">]><api status=\"ok\">&x;</api>",
            "<api status=\"ok\">&nbsp;</api>",
            "<api status=\"ok\"></api><api/>",
            "<api status=\"ok\"></api>trailing",
            "<api status=\"ok\"><a></api>",
            "<api status=\"ok\">",
            "",
            "<hello>x</hello>",
        ] {
            assert!(
                matches!(decode(bad.as_bytes()), Err(Error::Malformed { .. })),
                "{bad}"
            );
        }
        let deep = format!(
            "<api status=\"ok\">{}{}</api>",
            "<a>".repeat(200),
            "</a>".repeat(200)
        );
        let err = decode(deep.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("nested"), "{err}");
    }

    #[test]
    fn references_to_characters_xml_forbids_are_refused() {
        for bad in [
            r#"<api status="ok"><a>x&#1;y</a></api>"#,
            r#"<api status="ok"><a>&#0;</a></api>"#,
            r#"<api status="ok"><a>&#xFFFE;</a></api>"#,
            r#"<api status="ok"><a b="x&#1;y"/></api>"#,
            r#"<api status="ok"><a b="&#x1F;"/></api>"#,
        ] {
            let err = decode(bad.as_bytes()).unwrap_err().to_string();
            assert!(
                err.contains("does not allow") || err.contains("not permitted"),
                "{bad}: {err}"
            );
        }
        let v = payload(r#"<api status="ok"><a b="&#9;&#x1F980;">&#10;&#xE9;</a></api>"#);
        assert_eq!(
            v.get("a").unwrap().get("b").and_then(Value::as_str),
            Some("\t🦀")
        );
    }

    #[test]
    fn renders_scalars_in_objects_as_attributes() {
        let doc: Map = [
            ("doc_id".into(), Value::from("1")),
            ("title".into(), Value::from("a \"b\" & c")),
            ("description".into(), Value::from("x < y")),
            (
                "tags".into(),
                Value::Map(
                    [("tag".into(), Value::List(vec!["x".into(), "y".into()]))]
                        .into_iter()
                        .collect(),
                ),
            ),
        ]
        .into_iter()
        .collect();
        let payload: Map = [
            ("doc".into(), Value::Map(doc)),
            ("hello".into(), Value::from("hi")),
        ]
        .into_iter()
        .collect();
        let body = String::from_utf8(render(Ok(&payload))).unwrap();
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<api status=\"ok\"><doc doc_id=\"1\" title=\"a &quot;b&quot; &amp; c\"><description>x &lt; y</description><tags><tag>x</tag><tag>y</tag></tags></doc><hello>hi</hello></api>"
        );
        assert_eq!(decode(body.as_bytes()).unwrap(), Value::Map(payload));
    }
}
