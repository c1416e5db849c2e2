//! How typed answers are read: the `answer!` macro and the shared containers ([`Page`],
//! [`List`], [`Context`], [`Batch`]).
//!
//! An answer type names the fields the documentation gives and keeps every other member in
//! `other`, so nothing the service adds is lost. Fields are read with [`Value`]'s leniency (a
//! number written as text, `""` for "none", one item where a list was expected), whatever the
//! format; a missing field is `None` or empty, except the ids that identify the item, which are
//! required.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;

use crate::value::{Map, Text, Value};

static NULL: Value = Value::Null;

/// The value of a field the answer does not carry: `None`, empty, or an error naming it.
pub(crate) fn missing<T: DeserializeOwned, E: de::Error>(field: &'static str) -> Result<T, E> {
    T::deserialize(&NULL).map_err(|_| E::missing_field(field))
}

/// One kind of item in a list: the element name its container repeats (`doc` in `<docs>`).
pub trait Item: DeserializeOwned {
    /// The element name.
    const KEY: &'static str;
}

/// Defines an answer type: a struct of documented fields (read under their wire names, or the
/// names listed after `=`), a `pub other: Map` for the rest, `Deserialize` from any map and
/// `Serialize` back under the wire names.
macro_rules! answer {
    (
        $(#[$meta:meta])*
        pub struct $name:ident $(: $key:literal)? $(, text = $text:ident)? {
            $(
                $(#[$fmeta:meta])*
                $field:ident $(= $($wire:literal)|+)? : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Every member the documentation does not name, as the service sent it.
            pub other: $crate::value::Map,
        }

        $(
            impl $crate::answers::Item for $name {
                const KEY: &'static str = $key;
            }
        )?

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name, D::Error> {
                struct Fields;
                impl<'de> serde::de::Visitor<'de> for Fields {
                    type Value = $name;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("the members of ", stringify!($name)))
                    }

                    #[allow(unused_mut)]
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        $( let mut $field: Option<$ty> = None; )*
                        let mut other = $crate::value::Map::default();
                        while let Some(key) = map.next_key::<$crate::answers::shape::Key<'de>>()? {
                            match key.as_str() {
                                $( answer!(@wire $field $($($wire)|+)?) => {
                                    $field = Some(map.next_value()?);
                                } )*
                                _ => {
                                    let value: $crate::value::Value = map.next_value()?;
                                    other.insert($crate::value::Text::from(key.as_str()), value);
                                }
                            }
                        }
                        Ok($name {
                            $( $field: match $field {
                                Some(value) => value,
                                None => $crate::answers::shape::missing(answer!(@first $field $($($wire)|+)?))?,
                            }, )*
                            other,
                        })
                    }

                    fn visit_unit<E: serde::de::Error>(self) -> Result<$name, E> {
                        self.visit_map(serde::de::value::MapDeserializer::<
                            std::iter::Empty<(String, String)>,
                            E,
                        >::new(std::iter::empty()))
                    }

                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        // An empty element (`<album/>`, `""`) is an answer with nothing in it.
                        if text.is_empty() {
                            return self.visit_unit();
                        }
                        // Some answers give only the text of what is elsewhere an element.
                        $(
                            let mut answer = self.visit_unit::<E>()?;
                            answer.$text = Some(text.to_owned());
                            return Ok(answer);
                        )?
                        #[allow(unreachable_code)]
                        Err(E::invalid_type(serde::de::Unexpected::Str(text), &self))
                    }

                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<$name, A::Error> {
                        // PHP's empty array (`[]` in JSON) is an empty map.
                        match seq.next_element::<serde::de::IgnoredAny>()? {
                            None => self.visit_unit(),
                            Some(_) => Err(serde::de::Error::invalid_type(serde::de::Unexpected::Seq, &self)),
                        }
                    }
                }
                // `any`, not `map`: an element may come as its text alone, or empty.
                deserializer.deserialize_any(Fields)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $( $crate::answers::shape::SerializeField::serialize_field(
                    &self.$field,
                    answer!(@first $field $($($wire)|+)?),
                    &mut map,
                )?; )*
                for (key, value) in self.other.iter() {
                    map.serialize_entry(key.as_str(), value)?;
                }
                map.end()
            }
        }
    };
    (@wire $field:ident) => { stringify!($field) };
    (@wire $field:ident $($wire:literal)|+) => { $($wire)|+ };
    (@first $field:ident) => { stringify!($field) };
    (@first $field:ident $first:literal $(| $rest:literal)*) => { $first };
}

pub(crate) use answer;

/// How a field is written back: absent when it is `None` or an empty list.
pub(crate) trait SerializeField {
    /// Writes `name: self` into `map`, unless there is nothing to write.
    fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error>;
}

impl<T: serde::Serialize> SerializeField for Option<T> {
    fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error> {
        match self {
            Some(value) => map.serialize_entry(name, value),
            None => Ok(()),
        }
    }
}

impl<T: serde::Serialize> SerializeField for Vec<T> {
    fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error> {
        match self.is_empty() {
            true => Ok(()),
            false => map.serialize_entry(name, self),
        }
    }
}

macro_rules! always_serialized {
    ($($ty:ty),*) => {$(
        impl SerializeField for $ty {
            fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error> {
                map.serialize_entry(name, self)
            }
        }
    )*};
}
always_serialized!(
    crate::ids::DocId,
    crate::ids::AlbumId,
    crate::ids::FolderId,
    crate::ids::UserId,
    crate::ids::GroupId,
    crate::ids::PostId,
    crate::ids::CommentId,
    crate::ids::NoteId,
    String,
    u64
);

impl<T: Item + serde::Serialize> SerializeField for List<T> {
    fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
}

impl<T: Item + serde::Serialize> SerializeField for Page<T> {
    fn serialize_field<M: SerializeMap>(&self, name: &str, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry(name, self)
    }
}

/// What a container holds: its items, its counters (in the order asked for) and the rest.
struct Contents<T> {
    items: Vec<T>,
    numbers: Vec<Option<u64>>,
    other: Map,
}

/// Reads a container whose items repeat one element name, its counters and the rest.
fn read_container<'de, T: Item, A: MapAccess<'de>>(
    mut map: A,
    counters: &[&str],
) -> Result<Contents<T>, A::Error> {
    let mut items = Vec::new();
    let mut numbers = vec![None; counters.len()];
    let mut other = Map::default();
    while let Some(key) = map.next_key::<Key<'de>>()? {
        let key = key.as_str();
        if key == T::KEY {
            items = map.next_value::<OneOrMany<T>>()?.0;
        } else if let Some(index) = counters.iter().position(|c| *c == key) {
            let number: Lenient = map.next_value()?;
            if let Some(slot) = numbers.get_mut(index) {
                *slot = number.0;
            }
        } else {
            let value: Value = map.next_value()?;
            other.insert(Text::from(key), value);
        }
    }
    Ok(Contents {
        items,
        numbers,
        other,
    })
}

/// A counter read leniently: a number, its text, or nothing (anything else is no counter).
struct Lenient(Option<u64>);

impl<'de> serde::Deserialize<'de> for Lenient {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Lenient, D::Error> {
        struct LenientVisitor;
        impl<'de> Visitor<'de> for LenientVisitor {
            type Value = Lenient;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count")
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Lenient, E> {
                Ok(Lenient(Some(number)))
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Lenient, E> {
                Ok(Lenient(u64::try_from(number).ok()))
            }

            fn visit_f64<E: de::Error>(self, number: f64) -> Result<Lenient, E> {
                let whole = number.is_finite() && number >= 0.0 && number.fract() == 0.0;
                // A whole number below 2^64 converts exactly.
                Ok(Lenient(whole.then_some(number as u64)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Lenient, E> {
                Ok(Lenient(text.trim().parse().ok()))
            }

            fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Lenient, E> {
                Ok(Lenient(Some(u64::from(flag))))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }

            fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }

            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                inner: D,
            ) -> Result<Lenient, D::Error> {
                <Lenient as serde::Deserialize>::deserialize(inner)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Lenient(None))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(LenientVisitor)
    }
}

/// One item where the format wrote a single element, or a list of them; nothing for `""`.
struct OneOrMany<T>(Vec<T>);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<OneOrMany<T>, D::Error> {
        struct ItemsVisitor<T>(PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> Visitor<'de> for ItemsVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("one item or a list of them")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany<T>, A::Error> {
                // The hint is the input's own count of elements, each at least one byte: capped,
                // so that no count claims memory the input does not hold.
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOrMany<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|item| OneOrMany(vec![item]))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<OneOrMany<T>, E> {
                match text.is_empty() {
                    true => Ok(OneOrMany(Vec::new())),
                    false => T::deserialize(de::value::StrDeserializer::<E>::new(text))
                        .map(|item| OneOrMany(vec![item])),
                }
            }

            fn visit_unit<E: de::Error>(self) -> Result<OneOrMany<T>, E> {
                Ok(OneOrMany(Vec::new()))
            }

            fn visit_none<E: de::Error>(self) -> Result<OneOrMany<T>, E> {
                Ok(OneOrMany(Vec::new()))
            }
        }
        deserializer.deserialize_any(ItemsVisitor(PhantomData))
    }
}

/// A member's name, borrowed from the input when the input allows: known names cost no
/// allocation.
pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(text) => text,
            Key::Owned(text) => text,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Key<'de>, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(text))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(text))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct ContainerVisitor<C>(PhantomData<C>);

macro_rules! container {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$fmeta:meta])* $field:ident : $wire:literal $(| $alias:literal)*, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub struct $name<T> {
            $( $(#[$fmeta])* pub $field: Option<u64>, )*
            /// The items, in the order the service gave them.
            pub items: Vec<T>,
            /// Every other member, as the service sent it.
            pub other: Map,
        }

        impl<T> Default for $name<T> {
            fn default() -> Self {
                $name { $( $field: None, )* items: Vec::new(), other: Map::default() }
            }
        }

        impl<'de, T: Item> Visitor<'de> for ContainerVisitor<$name<T>> {
            type Value = $name<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a list of {}", T::KEY)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$name<T>, A::Error> {
                const COUNTERS: &[&str] = &[$( $wire, $($alias,)* )*];
                let Contents { items, numbers, other } = read_container::<T, A>(map, COUNTERS)?;
                let mut numbers = numbers.into_iter();
                $(
                    // A counter may come under any of its names; the first one sent wins.
                    let $field = [$wire $(, $alias)*]
                        .iter()
                        .fold(None, |found: Option<u64>, _| found.or(numbers.next().flatten()));
                )*
                Ok($name { $( $field, )* items, other })
            }

            fn visit_unit<E: de::Error>(self) -> Result<$name<T>, E> {
                Ok($name::default())
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<$name<T>, E> {
                match text.is_empty() {
                    true => Ok($name::default()),
                    false => Err(E::invalid_type(de::Unexpected::Str(text), &self)),
                }
            }
        }

        impl<'de, T: Item> serde::Deserialize<'de> for $name<T> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$name<T>, D::Error> {
                deserializer.deserialize_map(ContainerVisitor::<$name<T>>(PhantomData))
            }
        }

        impl<T: Item + serde::Serialize> serde::Serialize for $name<T> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(None)?;
                $( if let Some(number) = self.$field {
                    map.serialize_entry($wire, &number)?;
                } )*
                for (key, value) in self.other.iter() {
                    map.serialize_entry(key.as_str(), value)?;
                }
                map.serialize_entry(T::KEY, &self.items)?;
                map.end()
            }
        }
    };
}

container! {
    /// One page of a paged list: `<docs total per_page page pages>` with its items. `per_page`
    /// is also read as `perpage` (the general formats page's spelling).
    Page {
        /// How many items there are in all.
        total: "total",
        /// This page's number, from 1.
        page: "page",
        /// How many pages there are.
        pages: "pages",
        /// Items per page.
        per_page: "per_page" | "perpage",
        /// How many items this page holds (some lists say so).
        count: "count",
    }
}

container! {
    /// A list that is not paged: `<docs count>`, `<tags total>`, `<groups count>` with its items.
    List {
        /// How many items the list holds.
        count: "count",
        /// How many items there are in all.
        total: "total",
    }
}

impl<T> Page<T> {
    /// How many pages there are: `pages` when the answer says, else worked out from `total`
    /// and `per_page`.
    pub fn page_count(&self) -> Option<u64> {
        self.pages.or_else(|| match (self.total, self.per_page) {
            (Some(total), Some(per_page)) if per_page > 0 => Some(total.div_ceil(per_page)),
            _ => None,
        })
    }
}

impl<T> IntoIterator for Page<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

#[cfg(test)]
#[allow(unreachable_pub)]
mod tests {
    use super::*;
    use crate::ids::DocId;
    use serde::Deserialize;

    answer! {
        /// A test item.
        pub struct Thing: "thing" {
            /// Its id.
            doc_id: DocId,
            /// Its title.
            title: Option<String>,
            /// Per page, under two spellings.
            per_page = "per_page" | "perpage": Option<u32>,
        }
    }

    #[test]
    fn named_fields_are_read_leniently_and_the_rest_is_kept() {
        let value =
            Value::from_json_str(r#"{"doc_id":"42","perpage":5,"extra":{"a":"1"}}"#).unwrap();
        let thing = Thing::deserialize(&value).unwrap();
        assert_eq!(thing.doc_id, DocId::new(42));
        assert_eq!(thing.title, None);
        assert_eq!(thing.per_page, Some(5));
        assert_eq!(
            thing
                .other
                .get("extra")
                .and_then(|v| v.get("a"))
                .and_then(Value::as_str),
            Some("1")
        );
        let missing = Thing::deserialize(&Value::from_json_str(r#"{"title":"x"}"#).unwrap());
        assert!(missing.unwrap_err().to_string().contains("doc_id"));
        let back = serde_json::to_value(&thing).unwrap();
        assert_eq!(back["doc_id"], 42);
        assert_eq!(back["extra"]["a"], "1");
    }

    #[test]
    fn pages_read_one_item_many_items_and_none() {
        let one = Value::from_json_str(
            r#"{"total":"1","page":"1","pages":"1","per_page":"20","thing":{"doc_id":"1"}}"#,
        )
        .unwrap();
        let page = Page::<Thing>::deserialize(&one).unwrap();
        assert_eq!((page.total, page.items.len()), (Some(1), 1));
        let many = Value::from_json_str(
            r#"{"total":2,"perpage":"1","thing":[{"doc_id":"1"},{"doc_id":"2"}]}"#,
        )
        .unwrap();
        let page = Page::<Thing>::deserialize(&many).unwrap();
        assert_eq!(
            (page.per_page, page.page_count(), page.items.len()),
            (Some(1), Some(2), 2)
        );
        let none = Value::from_json_str(r#"{"total":"0","thing":""}"#).unwrap();
        assert!(Page::<Thing>::deserialize(&none).unwrap().items.is_empty());
        assert!(
            Page::<Thing>::deserialize(&Value::from(""))
                .unwrap()
                .items
                .is_empty()
        );
    }
}
