//! XML's text rules, below every user of XML in the crate (the xml and soap formats, the SOAP and
//! XML-RPC request protocols): which characters and names XML can carry, escaping text and
//! attribute values, and reading a body as XML text (UTF-8, an optional byte order mark, none of
//! the control characters XML 1.0 forbids).

use super::Format;
use crate::error::{Error, excerpt};

/// Whether `c` may open an XML name (letters and `_`; the colon of a prefix is not ours).
pub(crate) fn is_name_start_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!c.is_ascii() && c.is_alphabetic())
}

/// Whether `c` may continue an XML name.
pub(crate) fn is_name_char(c: char) -> bool {
    is_name_start_char(c) || c.is_ascii_digit() || c == '-' || c == '.'
}

/// Whether `name` can be an (un-prefixed) XML element or attribute name.
pub(crate) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start_char) && chars.all(is_name_char)
}

/// Whether XML 1.0 can carry `c` at all (even escaped).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character of `text` that XML cannot carry, if any.
pub(crate) fn first_non_xml_char(text: &str) -> Option<char> {
    text.chars().find(|c| !is_xml_char(*c))
}

/// Escapes element text: `& < >` (which also breaks up `]]>`) and `\r`, which a parser would
/// otherwise turn into `\n`. Characters XML cannot carry become U+FFFD; encoders check for them
/// first and refuse the request instead.
pub(crate) fn escape_text_into(out: &mut String, text: &str) {
    escape_into(out, text, false);
}

/// Escapes an attribute value: as text, plus quotes, tab and newline.
pub(crate) fn escape_attr_into(out: &mut String, text: &str) {
    escape_into(out, text, true);
}

fn escape_into(out: &mut String, text: &str, attribute: bool) {
    let mut rest = text;
    while let Some(position) = rest.find(|c: char| needs_escape(c, attribute)) {
        let (plain, tail) = rest.split_at(position);
        out.push_str(plain);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&apos;"),
                '\r' => out.push_str("&#13;"),
                '\n' => out.push_str("&#10;"),
                '\t' => out.push_str("&#9;"),
                _ => out.push('\u{FFFD}'),
            }
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
}

fn needs_escape(c: char, attribute: bool) -> bool {
    match c {
        '&' | '<' | '>' | '\r' => true,
        '"' | '\'' | '\n' | '\t' => attribute,
        other => !is_xml_char(other),
    }
}

/// Escaped element text as a new string.
#[cfg(test)]
pub(crate) fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_text_into(&mut out, text);
    out
}

/// The body as UTF-8 holding only characters XML allows, or a malformed-response error that
/// says where it stops being that.
pub(crate) fn utf8(body: &[u8], format: Format) -> Result<&str, Error> {
    // XML allows a byte order mark before the document (XML 1.0 §4.3.3); it is not content.
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|error| {
        Error::malformed(
            format,
            format!(
                "invalid UTF-8 at byte {}: {}",
                error.valid_up_to(),
                excerpt(body, error.valid_up_to())
            ),
        )
    })?;
    match forbidden_control(body) {
        Some(at) => Err(Error::malformed(
            format,
            format!(
                "a control character XML does not allow (U+{:04X}) at byte {at}",
                body.get(at).copied().unwrap_or_default()
            ),
        )),
        None => Ok(text),
    }
}

/// The UTF-8 byte order mark.
pub(crate) const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

/// Where `bytes` hold a control character XML 1.0 forbids (all below U+0020 but tab, line feed
/// and carriage return), if anywhere.
pub(crate) fn forbidden_control(bytes: &[u8]) -> Option<usize> {
    let forbidden = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r');
    // A branch-free test per block (which the compiler vectorizes) finds the rare block to search.
    let mut offset = 0;
    for block in bytes.chunks(256) {
        if block.iter().fold(false, |found, &b| found | forbidden(b)) {
            return block
                .iter()
                .position(|&b| forbidden(b))
                .map(|at| offset + at);
        }
        offset += block.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_cdata_end_and_carriage_return() {
        assert_eq!(escape_text("a<b>&]]>\r\n"), "a&lt;b&gt;&amp;]]&gt;&#13;\n");
        let mut attr = String::new();
        escape_attr_into(&mut attr, "\"'\t\n");
        assert_eq!(attr, "&quot;&apos;&#9;&#10;");
        assert_eq!(escape_text("a\u{1}b"), "a\u{FFFD}b");
    }

    #[test]
    fn names_and_characters_follow_xml_1_0() {
        assert!(is_xml_name("doc_id") && is_xml_name("é.b-1") && !is_xml_name("1a"));
        assert!(!is_xml_name("") && !is_xml_name("a b"));
        assert_eq!(first_non_xml_char("ok\u{b}no"), Some('\u{b}'));
        assert_eq!(forbidden_control(b"a\tb\x01"), Some(3));
        assert!(utf8(b"\xef\xbb\xbf<a/>", Format::Xml).is_ok_and(|text| text == "<a/>"));
        assert!(utf8(b"<a>\x02</a>", Format::Xml).is_err());
    }
}
