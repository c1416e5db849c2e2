//! [`Value`]: the one dynamic tree that every response format decodes into.
//!
//! Scalars keep what the wire said (a JSON number stays [`Value::Int`], an XML attribute is a
//! [`Value::String`]) while the accessors are lenient, because the live service sends the same field
//! as a number in one format and a string in another (`protocols/formats.md`):
//!
//! ```
//! use ipernity::Value;
//! let doc = Value::from_json_str(r#"{"doc_id": "42", "is_public": 1, "tags": ""}"#).unwrap();
//! assert_eq!(doc.get("doc_id").and_then(Value::as_u64), Some(42));
//! assert_eq!(doc.get("is_public").and_then(Value::as_bool), Some(true));
//! assert!(doc.list("tag").is_empty());
//! assert!(doc.get("tags").and_then(Value::as_map).is_some_and(|m| m.is_empty()));
//! ```
//!
//! `&Value` is also a serde [`Deserializer`](serde::Deserializer) with the same leniency, so one
//! struct reads every format: see [`Value::deserialize_into`].

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, DeserializeSeed, Visitor};

pub use crate::map::Text;
pub(crate) use crate::map::{INLINE_TEXT, fill_text, push_entry};

mod deserializer;
#[cfg(any(feature = "server", test))]
mod serializer;

pub use deserializer::DeError;
#[cfg(feature = "server")]
pub(crate) use serializer::to_text_value;

/// The named members of a decoded map, in the order the wire sent them: a vector searched in
/// order while small, with a hash index beside it from 16 entries on.
pub type Map = crate::map::Map<Value>;

static EMPTY_MAP: LazyLock<Map> = LazyLock::new(Map::default);

/// A decoded response, or any part of one.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// PHP `N`, JSON `null`, XML-RPC `<nil/>`.
    #[default]
    Null,
    /// A boolean as the wire sent it.
    Bool(bool),
    /// An integer as the wire sent it.
    Int(i64),
    /// A floating-point number as the wire sent it.
    Float(f64),
    /// Text; XML attributes and element text are always strings.
    String(Text),
    /// A list of values.
    List(Vec<Value>),
    /// Named members in the order the wire sent them.
    Map(Map),
}

impl Value {
    /// Makes this value the string `text`, written in place (see [`fill_text`]).
    pub(crate) fn set_string(&mut self, text: &str) {
        *self = Value::String(Text::default());
        if let Value::String(target) = self {
            fill_text(target, text);
        }
    }

    /// Makes this value the string `text`: short text written in place, long owned text keeping
    /// its allocation.
    pub(crate) fn set_text(&mut self, text: std::borrow::Cow<'_, str>) {
        match text {
            std::borrow::Cow::Owned(owned) if owned.len() > INLINE_TEXT => {
                *self = Value::String(Text::from(owned));
            }
            other => self.set_string(&other),
        }
    }

    /// Parses JSON text into a value (numbers stay numbers).
    pub fn from_json_str(text: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The member `key` of a map; `None` for a missing key or a value that is not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(map) => map.get(key),
            _ => None,
        }
    }

    /// The members of `key` as a list: the list itself, a one-element list for a single value
    /// (the XML and JSON forms of a one-entry list look like a single object), and an empty list
    /// for a missing key, `null` or `""`.
    pub fn list(&self, key: &str) -> &[Value] {
        self.get(key).map_or(&[], Value::as_slice)
    }

    /// This value as a list, with the same leniency as [`Value::list`].
    pub fn as_slice(&self) -> &[Value] {
        match self {
            Value::List(items) => items,
            Value::Null => &[],
            Value::String(text) if text.is_empty() => &[],
            single => std::slice::from_ref(single),
        }
    }

    /// This value as a map; `[]`, `""` and `null` read as the empty map (PHP's `json_encode` of an
    /// empty array).
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(map) => Some(map),
            Value::List(items) if items.is_empty() => Some(&EMPTY_MAP),
            Value::String(text) if text.is_empty() => Some(&EMPTY_MAP),
            Value::Null => Some(&EMPTY_MAP),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// Any scalar as text: strings as they are, numbers in decimal, booleans as `"1"`/`"0"`, null
    /// as `""`. `None` for lists and maps.
    pub fn to_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Null => Some(Cow::Borrowed("")),
            Value::Bool(flag) => Some(Cow::Borrowed(if *flag { "1" } else { "0" })),
            Value::Int(number) => Some(Cow::Owned(number.to_string())),
            Value::Float(number) => Some(Cow::Owned(format_float(*number))),
            Value::String(text) => Some(Cow::Borrowed(text)),
            Value::List(_) | Value::Map(_) => None,
        }
    }

    /// A signed integer from a number or from decimal text (`"42"`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(number) => Some(*number),
            Value::Float(number) if number.fract() == 0.0 && number.abs() < 9.2e18 => {
                Some(*number as i64)
            }
            Value::Bool(flag) => Some(i64::from(*flag)),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// An unsigned integer from a number or from decimal text (`"42"`).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::String(text) => text.trim().parse().ok(),
            Value::Float(number) if number.fract() == 0.0 && *number >= 0.0 && *number < 1.8e19 => {
                Some(*number as u64)
            }
            other => other.as_i64().and_then(|n| u64::try_from(n).ok()),
        }
    }

    /// A floating-point number from a number or from decimal text.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(number) => Some(*number),
            Value::Int(number) => Some(*number as f64),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    /// A boolean from `true`/`false`, `1`/`0` (numbers or text) and `"true"`/`"false"`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(flag) => Some(*flag),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            Value::String(text) => match text.trim() {
                "1" | "true" => Some(true),
                "0" | "false" | "" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Reads this value into any serde type, with the accessors' leniency (see the module docs).
    ///
    /// ```
    /// use ipernity::Value;
    /// #[derive(serde::Deserialize)]
    /// struct Ticket { id: String, done: bool, #[serde(default)] doc_id: Option<u64> }
    /// let xmlish = Value::from_json_str(r#"{"id": "12345445-98829", "done": "1", "doc_id": "7"}"#).unwrap();
    /// let ticket: Ticket = xmlish.deserialize_into().unwrap();
    /// assert!(ticket.done);
    /// assert_eq!(ticket.doc_id, Some(7));
    /// ```
    pub fn deserialize_into<'de, T: serde::Deserialize<'de>>(&'de self) -> Result<T, DeError> {
        T::deserialize(self)
    }

    /// A short name of the variant, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "map",
        }
    }
}

/// Decimal text of a float the way PHP and JSON print it (`1`, `0.5`, `1.5e25`).
pub(crate) fn format_float(number: f64) -> String {
    if number.is_nan() {
        "NAN".to_owned()
    } else if number.is_infinite() {
        if number > 0.0 { "INF" } else { "-INF" }.to_owned()
    } else {
        let mut buffer = ryu_like(number);
        if buffer.ends_with(".0") {
            buffer.truncate(buffer.len() - 2);
        }
        buffer
    }
}

fn ryu_like(number: f64) -> String {
    // `{:?}` prints the shortest text that reads back to the same f64.
    format!("{number:?}")
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::String(Text::from(text))
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::String(Text::from(text))
    }
}

impl From<Text> for Value {
    fn from(text: Text) -> Self {
        Value::String(text)
    }
}

impl From<i64> for Value {
    fn from(number: i64) -> Self {
        Value::Int(number)
    }
}

impl From<bool> for Value {
    fn from(flag: bool) -> Self {
        Value::Bool(flag)
    }
}

/// The null that indexing answers for what is not there.
static NULL: Value = Value::Null;

/// `value["doc"]["title"]`: the member named so, or null when there is none (or `value` is not
/// a map), as `serde_json::Value` indexes; chains never panic.
///
/// ```
/// let doc = ipernity::Format::Json
///     .decode(br#"{"api":{"status":"ok"},"doc":{"title":"Lake","tags":["a","b"]}}"#)
///     .unwrap();
/// assert_eq!(doc["doc"]["title"].as_str(), Some("Lake"));
/// assert_eq!(doc["doc"]["tags"][1].as_str(), Some("b"));
/// assert!(doc["doc"]["missing"]["deeper"].is_null());
/// ```
impl std::ops::Index<&str> for Value {
    type Output = Value;

    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

/// `value[n]`: the `n`th item of [`Value::as_slice`] (a single value is a one-item list), or
/// null past the end.
impl std::ops::Index<usize> for Value {
    type Output = Value;

    fn index(&self, position: usize) -> &Value {
        self.as_slice().get(position).unwrap_or(&NULL)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Self {
        Value::Map(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl<K: Into<Text>> FromIterator<(K, Value)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        Value::Map(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(flag) => serializer.serialize_bool(*flag),
            Value::Int(number) => serializer.serialize_i64(*number),
            Value::Float(number) => serializer.serialize_f64(*number),
            Value::String(text) => serializer.serialize_str(text),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key.as_str(), value)?;
                }
                out.end()
            }
        }
    }
}

/// Builds a [`Value`] from any self-describing deserializer. Depth is bounded by the
/// deserializer (serde_json stops at 128 levels).
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(Text::from(v)))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(Text::from(v)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // The size hint comes from the input; cap it so a lying header cannot reserve memory.
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::with_capacity(access.size_hint().unwrap_or(0).min(1024));
        while let Some(key) = access.next_key_seed(TextSeed)? {
            let value = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Map(map))
    }
}

/// Reads a map key straight into [`Text`], without an intermediate `String`.
struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for TextSeed {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E>(self, v: &str) -> Result<Text, E> {
        Ok(Text::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Text, E> {
        Ok(Text::from(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_fits_in_64_bytes() {
        assert!(std::mem::size_of::<Value>() <= 40);
        assert!(std::mem::size_of::<(Text, Value)>() <= 64);
    }
    use serde::Deserialize;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).unwrap()
    }

    #[test]
    fn scalars_keep_their_wire_type() {
        let v = json(r#"{"a": 1, "b": "1", "c": 1.5, "d": true, "e": null}"#);
        assert_eq!(v.get("a"), Some(&Value::Int(1)));
        assert_eq!(v.get("b"), Some(&Value::String("1".into())));
        assert_eq!(v.get("c"), Some(&Value::Float(1.5)));
        assert_eq!(v.get("d"), Some(&Value::Bool(true)));
        assert_eq!(v.get("e"), Some(&Value::Null));
    }

    #[test]
    fn map_order_is_preserved() {
        let v = json(r#"{"z": 1, "a": 2, "m": 3}"#);
        let keys: Vec<&str> = v.as_map().unwrap().keys().map(Text::as_str).collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }

    #[test]
    fn accessors_are_lenient() {
        assert_eq!(Value::from("42").as_u64(), Some(42));
        assert_eq!(Value::from(" 42 ").as_i64(), Some(42));
        assert_eq!(Value::Int(42).as_u64(), Some(42));
        assert_eq!(Value::Int(-1).as_u64(), None);
        assert_eq!(Value::from("x").as_u64(), None);
        assert_eq!(Value::from("1").as_bool(), Some(true));
        assert_eq!(Value::from("0").as_bool(), Some(false));
        assert_eq!(Value::Bool(true).as_bool(), Some(true));
        assert_eq!(Value::Int(1).as_bool(), Some(true));
        assert_eq!(Value::from("2").as_bool(), None);
        assert_eq!(Value::from("1.5").as_f64(), Some(1.5));
        assert_eq!(Value::Float(3.0).as_u64(), Some(3));
        assert_eq!(Value::Float(3.5).as_u64(), None);
    }

    #[test]
    fn list_treats_one_object_as_one_element_and_missing_as_empty() {
        let one = json(r#"{"doc": {"doc_id": "1"}}"#);
        assert_eq!(one.list("doc").len(), 1);
        let many = json(r#"{"doc": [{"doc_id": "1"}, {"doc_id": "2"}]}"#);
        assert_eq!(many.list("doc").len(), 2);
        assert!(json("{}").list("doc").is_empty());
        assert!(json(r#"{"doc": ""}"#).list("doc").is_empty());
        assert!(json(r#"{"doc": null}"#).list("doc").is_empty());
    }

    #[test]
    fn empty_array_and_empty_string_are_empty_maps() {
        let v = json(r#"{"a": [], "b": "", "c": {"doc": "write"}, "d": "x"}"#);
        assert!(v.get("a").and_then(Value::as_map).unwrap().is_empty());
        assert!(v.get("b").and_then(Value::as_map).unwrap().is_empty());
        assert_eq!(v.get("c").and_then(Value::as_map).unwrap().len(), 1);
        assert!(v.get("d").and_then(Value::as_map).is_none());
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Docs {
        page: u32,
        total: u64,
        #[serde(default)]
        doc: Vec<Doc>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Doc {
        doc_id: u64,
        title: String,
        #[serde(default)]
        is_public: Option<bool>,
        #[serde(default)]
        permissions: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn deserializer_is_lenient_like_the_accessors() {
        let strings = json(
            r#"{"page": "1", "total": "2", "doc": {"doc_id": "7", "title": 5, "is_public": "1", "permissions": []}}"#,
        );
        let docs: Docs = strings.deserialize_into().unwrap();
        assert_eq!(docs.page, 1);
        assert_eq!(docs.doc.len(), 1);
        assert_eq!(docs.doc[0].title, "5");
        assert_eq!(docs.doc[0].is_public, Some(true));
        assert!(docs.doc[0].permissions.is_empty());

        let numbers = json(
            r#"{"page": 1, "total": 2, "doc": [{"doc_id": 7, "title": "t"}, {"doc_id": 8, "title": "u", "permissions": ""}]}"#,
        );
        let docs: Docs = numbers.deserialize_into().unwrap();
        assert_eq!(docs.doc.len(), 2);
        assert_eq!(docs.doc[1].doc_id, 8);

        let empty: Docs = json(r#"{"page": 1, "total": 0, "doc": ""}"#)
            .deserialize_into()
            .unwrap();
        assert!(empty.doc.is_empty());
    }

    #[test]
    fn errors_name_the_path_to_the_field() {
        let err = json(
            r#"{"page": 1, "total": 2, "doc": [{"doc_id": 7, "title": "t"}, {"doc_id": "x", "title": "u"}]}"#,
        )
        .deserialize_into::<Docs>()
        .unwrap_err();
        assert_eq!(err.path(), "doc[1].doc_id");
        assert!(
            err.to_string()
                .starts_with("at `doc[1].doc_id`: expected u64"),
            "{err}"
        );
        let missing = json(r#"{"page": 1, "total": 2, "doc": {"doc_id": 7}}"#)
            .deserialize_into::<Docs>()
            .unwrap_err();
        assert_eq!(missing.path(), "doc[0]", "{missing}");
        assert!(
            missing.to_string().contains("missing field `title`"),
            "{missing}"
        );
    }

    #[test]
    fn an_empty_string_is_none() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Ticket {
            doc_id: Option<u64>,
            eta: Option<u64>,
        }
        let ticket: Ticket = json(r#"{"doc_id": "", "eta": "5"}"#)
            .deserialize_into()
            .unwrap();
        assert_eq!(
            ticket,
            Ticket {
                doc_id: None,
                eta: Some(5)
            }
        );
    }

    #[test]
    fn deserializer_reports_type_errors() {
        let err = json(r#"{"page": "x", "total": 1}"#)
            .deserialize_into::<Docs>()
            .unwrap_err();
        assert!(err.to_string().contains("expected u32"), "{err}");
    }

    #[test]
    fn enums_read_from_text() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "lowercase")]
        enum Level {
            Read,
            Write,
        }
        assert_eq!(
            Value::from("write").deserialize_into::<Level>().unwrap(),
            Level::Write
        );
        assert!(Value::from("fly").deserialize_into::<Level>().is_err());
        let _ = Level::Read;
    }

    #[test]
    fn serializes_to_json_in_order() {
        let v = json(r#"{"z": [1, "a", null, true, 1.5], "a": {}}"#);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"z":[1,"a",null,true,1.5],"a":{}}"#
        );
    }

    #[test]
    fn float_text_is_short() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(f64::INFINITY), "INF");
        assert_eq!(Value::Float(2.0).to_text().unwrap(), "2");
    }
}
