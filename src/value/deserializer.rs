//! `&Value` as a serde [`Deserializer`](serde::Deserializer): lenient the way the accessors are
//! (a number reads from text, a list from one item, `None` from an empty string), and every
//! error names the path to the field that failed ([`DeError::path`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::{Text, Value};

/// The error of [`Value::deserialize_into`]: what was wrong, and where (`doc.tags[2].tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    message: String,
    /// The path from the root, innermost segment first (errors bubble up from the inside).
    path: Vec<Segment>,
}

/// One step of a [`DeError`]'s path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Member(String),
    Item(usize),
}

impl DeError {
    fn new(message: impl Into<String>) -> DeError {
        DeError {
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// The error, one level further out.
    fn within(mut self, segment: Segment) -> DeError {
        self.path.push(segment);
        self
    }

    /// Where the error is: member names joined by `.`, list positions as `[n]`; empty at the
    /// root.
    pub fn path(&self) -> String {
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Member(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Item(position) => path.push_str(&format!("[{position}]")),
            }
        }
        path
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at `{}`: {}", self.path(), self.message)
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::new(msg.to_string())
    }
}

impl DeError {
    fn expected(what: &str, found: &Value) -> DeError {
        DeError::new(format!("expected {what}, found {}", found.kind()))
    }
}

macro_rules! lenient_int {
    ($method:ident, $visit:ident, $ty:ty, $read:ident) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let number = self
                .$read()
                .and_then(|n| <$ty>::try_from(n).ok())
                .ok_or_else(|| DeError::expected(stringify!($ty), self))?;
            visitor.$visit(number)
        }
    };
}

impl<'de> serde::Deserializer<'de> for &'de Value {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(flag) => visitor.visit_bool(*flag),
            Value::Int(number) => visitor.visit_i64(*number),
            Value::Float(number) => visitor.visit_f64(*number),
            Value::String(text) => visitor.visit_borrowed_str(text),
            Value::List(items) => visitor.visit_seq(SeqAccess(items.iter().enumerate())),
            Value::Map(map) => visitor.visit_map(MapAccess {
                entries: map.iter(),
                pending: None,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let flag = self
            .as_bool()
            .ok_or_else(|| DeError::expected("boolean", self))?;
        visitor.visit_bool(flag)
    }

    lenient_int!(deserialize_i8, visit_i8, i8, as_i64);
    lenient_int!(deserialize_i16, visit_i16, i16, as_i64);
    lenient_int!(deserialize_i32, visit_i32, i32, as_i64);
    lenient_int!(deserialize_i64, visit_i64, i64, as_i64);
    lenient_int!(deserialize_u8, visit_u8, u8, as_u64);
    lenient_int!(deserialize_u16, visit_u16, u16, as_u64);
    lenient_int!(deserialize_u32, visit_u32, u32, as_u64);
    lenient_int!(deserialize_u64, visit_u64, u64, as_u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let number = self
            .as_f64()
            .ok_or_else(|| DeError::expected("number", self))?;
        visitor.visit_f64(number)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::String(text) => visitor.visit_borrowed_str(text),
            other => match other.to_text() {
                Some(text) => visitor.visit_string(text.into_owned()),
                None => Err(DeError::expected("string", other)),
            },
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::String(text) => visitor.visit_borrowed_bytes(text.as_bytes()),
            other => Err(DeError::expected("string", other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    /// Null and the empty string are `None`: the service writes `""` for a member it has no
    /// value for (an `Option<u64>` reads `doc_id=""` as `None`, not as an error).
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_none(),
            Value::String(text) if text.is_empty() => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::String(text) if text.is_empty() => visitor.visit_unit(),
            other => Err(DeError::expected("nothing", other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_seq(SeqAccess(self.as_slice().iter().enumerate()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let map = self
            .as_map()
            .ok_or_else(|| DeError::expected("map", self))?;
        visitor.visit_map(MapAccess {
            entries: map.iter(),
            pending: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self {
            Value::Map(map) if map.len() == 1 => match map.first() {
                Some((variant, value)) => visitor.visit_enum(EnumAccess { variant, value }),
                None => Err(DeError::expected("enum", self)),
            },
            other => match other.to_text() {
                Some(text) => visitor.visit_enum(text.into_owned().into_deserializer()),
                None => Err(DeError::expected("enum", other)),
            },
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqAccess<'de>(std::iter::Enumerate<std::slice::Iter<'de, Value>>);

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        self.0
            .next()
            .map(|(position, item)| {
                seed.deserialize(item)
                    .map_err(|e| e.within(Segment::Item(position)))
            })
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess<'de> {
    entries: crate::map::Iter<'de, Value>,
    pending: Option<(&'de Text, &'de Value)>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.pending = Some((key, value));
                seed.deserialize(BorrowedStr(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.pending.take() {
            Some((key, value)) => seed
                .deserialize(value)
                .map_err(|e| e.within(Segment::Member(key.to_string()))),
            None => Err(DeError::new("value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A map key handed to serde without copying.
struct BorrowedStr<'de>(&'de str);

impl<'de> serde::Deserializer<'de> for BorrowedStr<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct EnumAccess<'de> {
    variant: &'de str,
    value: &'de Value,
}

impl<'de> de::EnumAccess<'de> for EnumAccess<'de> {
    type Error = DeError;
    type Variant = VariantAccess<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let variant = seed.deserialize(BorrowedStr(self.variant))?;
        Ok((variant, VariantAccess(self.value)))
    }
}

struct VariantAccess<'de>(&'de Value);

impl<'de> de::VariantAccess<'de> for VariantAccess<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        serde::Deserializer::deserialize_seq(self.0, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        serde::Deserializer::deserialize_map(self.0, visitor)
    }
}
