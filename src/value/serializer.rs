//! Serialising into a [`Value`] tree with every scalar as text: how the emulator builds its
//! answers from `#[derive(Serialize)]` structs. The service writes its scalars as text in the xml,
//! soap and php formats, and this keeps the json format saying the same (`"doc_id":"1234"`).
//! A `bool` is `"1"` or `"0"`, as the service writes flags; `None` and `()` are `Value::Null`
//! (the answer structs leave an absent field out with `skip_serializing_if`); struct fields and
//! map entries keep their order.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{Map, Text, Value, format_float};

/// `value` as a tree whose scalars are all text.
pub(crate) fn to_text_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, SerError> {
    value.serialize(TextSerializer)
}

/// Why a value could not become a tree: raw bytes, or a map key that is not text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SerError(String);

impl fmt::Display for SerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SerError {}

impl ser::Error for SerError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        SerError(message.to_string())
    }
}

fn text(value: impl ToString) -> Result<Value, SerError> {
    Ok(Value::String(Text::from(value.to_string())))
}

/// The serde serializer behind [`to_text_value`].
struct TextSerializer;

impl ser::Serializer for TextSerializer {
    type Ok = Value;
    type Error = SerError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, SerError> {
        text(if v { "1" } else { "0" })
    }
    fn serialize_i8(self, v: i8) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, SerError> {
        text(format_float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, SerError> {
        text(format_float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, SerError> {
        text(v)
    }
    fn serialize_str(self, v: &str) -> Result<Value, SerError> {
        Ok(Value::String(Text::from(v)))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, SerError> {
        Err(SerError(
            "raw bytes have no text form in an answer".to_owned(),
        ))
    }
    fn serialize_none(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, SerError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, SerError> {
        text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, SerError> {
        Ok(Value::Map(Map::from_iter([(
            Text::from(variant),
            value.serialize(self)?,
        )])))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, SerError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, SerError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            map: Map::with_capacity(len.unwrap_or(0)),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, SerError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder, SerError> {
        Ok(MapBuilder {
            map: Map::with_capacity(len),
            key: None,
            variant: Some(variant),
        })
    }
}

/// Wraps `value` as `{variant: value}` when it belongs to an enum variant.
fn in_variant(variant: Option<&'static str>, value: Value) -> Value {
    match variant {
        Some(variant) => Value::Map(Map::from_iter([(Text::from(variant), value)])),
        None => value,
    }
}

/// A list being built.
struct SeqBuilder {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.items.push(value.serialize(TextSerializer)?);
        Ok(())
    }

    fn finish(self) -> Result<Value, SerError> {
        Ok(in_variant(self.variant, Value::List(self.items)))
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        self.push(value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

/// A map being built, members in the order they come.
struct MapBuilder {
    map: Map,
    key: Option<Text>,
    variant: Option<&'static str>,
}

impl MapBuilder {
    fn member<T: Serialize + ?Sized>(&mut self, key: Text, value: &T) -> Result<(), SerError> {
        self.map.insert(key, value.serialize(TextSerializer)?);
        Ok(())
    }

    fn finish(self) -> Result<Value, SerError> {
        Ok(in_variant(self.variant, Value::Map(self.map)))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), SerError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerError("a map value came without its key".to_owned()))?;
        self.member(key, value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        self.member(Text::from(key), value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Value;
    type Error = SerError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), SerError> {
        self.member(Text::from(key), value)
    }
    fn end(self) -> Result<Value, SerError> {
        self.finish()
    }
}

/// A map key: text, or a number or flag written as text.
struct KeySerializer;

impl KeySerializer {
    fn refuse() -> SerError {
        SerError("a map key must be text".to_owned())
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = Text;
    type Error = SerError;
    type SerializeSeq = Impossible<Text, SerError>;
    type SerializeTuple = Impossible<Text, SerError>;
    type SerializeTupleStruct = Impossible<Text, SerError>;
    type SerializeTupleVariant = Impossible<Text, SerError>;
    type SerializeMap = Impossible<Text, SerError>;
    type SerializeStruct = Impossible<Text, SerError>;
    type SerializeStructVariant = Impossible<Text, SerError>;

    fn serialize_bool(self, v: bool) -> Result<Text, SerError> {
        Ok(Text::from(if v { "1" } else { "0" }))
    }
    fn serialize_i8(self, v: i8) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_i16(self, v: i16) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_i32(self, v: i32) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_i64(self, v: i64) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_u8(self, v: u8) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_u16(self, v: u16) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_u32(self, v: u32) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_u64(self, v: u64) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_f32(self, _: f32) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_f64(self, _: f64) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_char(self, v: char) -> Result<Text, SerError> {
        Ok(Text::from(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Text, SerError> {
        Ok(Text::from(v))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_none(self) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Text, SerError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Text, SerError> {
        Ok(Text::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Text, SerError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Text, SerError> {
        Err(Self::refuse())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerError> {
        Err(Self::refuse())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerError> {
        Err(Self::refuse())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, SerError> {
        Err(Self::refuse())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerError> {
        Err(Self::refuse())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerError> {
        Err(Self::refuse())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SerError> {
        Err(Self::refuse())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerError> {
        Err(Self::refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Doc<'a> {
        doc_id: u64,
        title: &'a str,
        is_public: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        md5: Option<&'a str>,
        tags: Vec<Tag>,
        lat: f64,
    }

    #[derive(Serialize)]
    struct Tag {
        tag_id: u32,
        #[serde(rename = "type")]
        kind: Kind,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Keyword,
    }

    #[test]
    fn every_scalar_becomes_text_and_members_keep_their_order() {
        let doc = Doc {
            doc_id: 1234,
            title: "Nice car",
            is_public: true,
            md5: None,
            tags: vec![Tag {
                tag_id: 7,
                kind: Kind::Keyword,
            }],
            lat: 48.5,
        };
        let value = to_text_value(&doc).unwrap();
        let expected = Value::from_json_str(
            r#"{"doc_id":"1234","title":"Nice car","is_public":"1",
                "tags":[{"tag_id":"7","type":"keyword"}],"lat":"48.5"}"#,
        )
        .unwrap();
        assert_eq!(value, expected);
        let keys: Vec<&str> = value.as_map().unwrap().keys().map(Text::as_str).collect();
        assert_eq!(keys, ["doc_id", "title", "is_public", "tags", "lat"]);
    }

    #[test]
    fn maps_take_text_and_number_keys_and_refuse_others() {
        let numbered: std::collections::BTreeMap<u32, bool> = [(1, false)].into();
        assert_eq!(
            to_text_value(&numbered).unwrap(),
            Value::from_json_str(r#"{"1":"0"}"#).unwrap()
        );
        let listed: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        assert!(to_text_value(&listed).is_err());
        assert!(to_text_value(&serde_bytes_like()).is_err());
    }

    /// A value that serialises as raw bytes.
    fn serde_bytes_like() -> impl Serialize {
        struct Raw;
        impl Serialize for Raw {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(b"\x00")
            }
        }
        Raw
    }
}
