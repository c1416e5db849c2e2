//! [`Text`]: the string type of decoded names and values. Up to 24 bytes live inline, so
//! decoding a response does not allocate once per name and short value; longer text is one heap
//! allocation, as a `String` is. The inline storage is an implementation detail: `Text` reads as
//! a `&str` (it derefs to one) and is built from `&str`, `String` or `Cow<str>`.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use compact_str::CompactString;

/// A decoded name or value: up to 24 bytes live inline (no allocation), longer text is one heap
/// allocation. It reads as a `&str` (it derefs to one) and is built from `&str`, `String` or
/// `Cow<str>`.
///
/// ```
/// use ipernity::Text;
/// let name = Text::from("doc_id");
/// assert_eq!(name, "doc_id");
/// assert!(name.starts_with("doc"));
/// assert_eq!(String::from(name), "doc_id");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Text(CompactString);

impl Text {
    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `value` written as text (integers without going through `format!`).
    pub(crate) fn from_display(value: impl fmt::Display) -> Text {
        Text(compact_str::ToCompactString::to_compact_string(&value))
    }

    /// `bytes` as text, if they are UTF-8.
    pub(crate) fn from_utf8(bytes: &[u8]) -> Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(bytes).map(Text::from)
    }

    /// Appends `text`.
    pub(crate) fn push_str(&mut self, text: &str) {
        self.0.push_str(text);
    }

    /// The text as an owned `String`.
    pub fn into_string(self) -> String {
        self.0.into_string()
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(CompactString::from(text))
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(CompactString::from(text))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text(CompactString::from(text.as_str()))
    }
}

impl From<Cow<'_, str>> for Text {
    fn from(text: Cow<'_, str>) -> Text {
        Text(CompactString::from(text))
    }
}

impl From<Text> for String {
    fn from(text: Text) -> String {
        text.into_string()
    }
}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Text> for &str {
    fn eq(&self, other: &Text) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Sets `target`, an empty text, to `text`. Short text is copied straight into `target`'s inline
/// buffer where it stays: building it aside and moving it in makes the processor reload bytes it
/// has just written one by one, which costs more than the copy.
pub(crate) fn fill_text(target: &mut Text, text: &str) {
    if text.len() <= INLINE_TEXT {
        target.push_str(text);
    } else {
        *target = Text::from(text);
    }
}

/// The longest text a [`Text`] holds without an allocation of its own.
pub(crate) const INLINE_TEXT: usize = std::mem::size_of::<Text>();
